import SidetapCore
import Synchronization

/// Any packet source, delivered at a replay pace: each packet is held until its due time
/// (see `ReplayPacer`), then passed on unchanged.
///
/// A `poll` delivers the packets that are due and returns as soon as the next one is not, so
/// the engine hands each packet on when it is due rather than at the end of a batch. It sleeps
/// only when nothing has been delivered yet in that poll. To do that it reads one packet ahead;
/// when the wrapped source's bytes do not outlive delivery, that one packet is copied into a
/// buffer the pacer owns (grown, never allocated per packet).
///
/// Everything else (description, byte lifetime, counters, problems) is the wrapped source's;
/// its `delivered` counter includes the packet read ahead.
/// `stop()` cuts a wait short, releases the held packet at once and stops the wrapped source.
public final class PacedSource: PacketSource {
    /// The wrapped source.
    public let source: any PacketSource
    /// The pacer deciding due times (its lateness figures are readable from the poll thread).
    public let pacer: ReplayPacer
    private let stopRequested = Atomic<Bool>(false)

    /// The packet read ahead, and its due time.
    private var pending: CapturedPacket?
    private var pendingDue: Int64 = 0
    private var ended = false
    /// Holds the read-ahead packet's bytes when the wrapped source's do not outlive delivery.
    private var holding = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// Wraps `source` with `pacing`; the clock and sleep default to the system's.
    public init(
        _ source: any PacketSource, _ pacing: ReplayPacing,
        timeSource: any TimeSource = SystemTimeSource.shared, sleep: ((Int64) -> Void)? = nil
    ) throws(ReplayPacingError) {
        self.source = source
        self.pacer = try ReplayPacer(pacing, timeSource: timeSource, sleep: sleep)
    }

    deinit { holding.deallocate() }

    public var description: SourceDescription { source.description }
    public var bytesOutliveDelivery: Bool { source.bytesOutliveDelivery }

    /// Passes the hint on, counting the packet held for its due time as still in use.
    public func deliveredBytesInUse(from oldest: UnsafeRawPointer?) {
        guard source.bytesOutliveDelivery else { return }
        var oldest = oldest
        if let held = pending?.bytes.baseAddress, oldest.map({ held < $0 }) ?? true { oldest = held }
        source.deliveredBytesInUse(from: oldest)
    }

    /// Opens the wrapped source; the schedule starts with the first packet polled.
    public func open() throws {
        // Relaxed is enough: open and poll run on the same thread.
        stopRequested.store(false, ordering: .relaxed)
        pacer.reset()
        pending = nil
        ended = false
        try source.open()
    }

    /// Delivers the packets that are due, waiting first if none is.
    public func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        if case .topSpeed = pacer.pacing { return try source.poll(limit: limit, deliver) }
        var count = 0
        var idle = false
        while count < limit {
            if pending == nil {
                if ended { break }
                let outcome = try source.poll(limit: 1) { packet in hold(packet) }
                if outcome == .endOfInput {
                    ended = true
                    break
                }
                if pending == nil {
                    idle = outcome == .idle
                    break
                }
            }
            guard let packet = pending else { break }
            if !pacer.isDue(pendingDue) {
                if count > 0 { break }   // hand over what is due; wait in the next poll
                if !isStopRequested { pacer.wait(until: pendingDue) { self.isStopRequested } }
            }
            pending = nil
            deliver(packet)
            count += 1
        }
        if count > 0 { return .delivered(count) }
        if ended { return .endOfInput }
        return idle ? .idle : .delivered(0)
    }

    /// Keeps `packet` (copying its bytes when they would not survive) and schedules it.
    private func hold(_ packet: CapturedPacket) {
        var kept = packet
        if !source.bytesOutliveDelivery {
            if holding.count < packet.bytes.count {
                holding.deallocate()
                holding = .allocate(byteCount: max(2048, packet.bytes.count.nextPowerOfTwo), alignment: 16)
            }
            if let base = packet.bytes.baseAddress, packet.bytes.count > 0 {
                holding.baseAddress!.copyMemory(from: base, byteCount: packet.bytes.count)
            }
            kept.bytes = UnsafeRawBufferPointer(start: holding.baseAddress, count: packet.bytes.count)
        }
        pending = kept
        pendingDue = pacer.schedule(timestampNanos: packet.timestampNanos, wireLength: packet.wireLength)
    }

    /// The acquiring load pairs with the releasing store in `stop()`.
    private var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Interrupts a wait and stops the wrapped source; safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        source.stop()
    }

    /// Closes the wrapped source and drops the packet read ahead.
    public func close() {
        pending = nil
        source.close()
    }

    public var statistics: SourceStatistics { source.statistics }
    public var lastProblem: String? { source.lastProblem }
}

extension Int {
    /// The smallest power of two ≥ self (self for powers of two; 1 for values ≤ 1).
    fileprivate var nextPowerOfTwo: Int {
        self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}
