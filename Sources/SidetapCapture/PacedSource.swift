import SidetapCore
import Synchronization

/// Any packet source, delivered at a replay pace: each packet is held until its due time
/// (see `ReplayPacer`), then passed on unchanged.
///
/// Everything else (description, byte lifetime, counters, problems) is the wrapped source's.
/// `stop()` cuts a wait short: the packets of the current batch are then passed on at once
/// and the wrapped source is asked to stop too.
public final class PacedSource: PacketSource {
    /// The wrapped source.
    public let source: any PacketSource
    /// The pacer deciding due times (its lateness figures are readable from the poll thread).
    public let pacer: ReplayPacer
    private let stopRequested = Atomic<Bool>(false)

    /// Wraps `source` with `pacing`; the clock and sleep default to the system's.
    public init(
        _ source: any PacketSource, _ pacing: ReplayPacing,
        timeSource: any TimeSource = SystemTimeSource.shared, sleep: ((Int64) -> Void)? = nil
    ) throws(ReplayPacingError) {
        self.source = source
        self.pacer = try ReplayPacer(pacing, timeSource: timeSource, sleep: sleep)
    }

    public var description: SourceDescription { source.description }
    public var bytesOutliveDelivery: Bool { source.bytesOutliveDelivery }

    /// Opens the wrapped source; the schedule starts with the first packet polled.
    public func open() throws {
        // Relaxed is enough: open and poll run on the same thread.
        stopRequested.store(false, ordering: .relaxed)
        pacer.reset()
        try source.open()
    }

    /// Polls the wrapped source and holds each packet until it is due.
    public func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        if case .topSpeed = pacer.pacing { return try source.poll(limit: limit, deliver) }
        let pacer = self.pacer
        return try source.poll(limit: limit) { packet in
            if !self.isStopRequested {
                pacer.wait(timestampNanos: packet.timestampNanos, wireLength: packet.wireLength) {
                    self.isStopRequested
                }
            }
            deliver(packet)
        }
    }

    /// The acquiring load pairs with the releasing store in `stop()`.
    private var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Interrupts a wait and stops the wrapped source; safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        source.stop()
    }

    public func close() { source.close() }
    public var statistics: SourceStatistics { source.statistics }
    public var lastProblem: String? { source.lastProblem }
}
