import SidetapCapture
import SidetapCore
import SidetapPorts
import SidetapRing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The output side for one port, on its own thread: drain this port's rings (one per source)
/// → token bucket → `Port.write`; flush when idle; tick about every 100 ms.
///
/// A slow or failing port only ever fills its own rings; the sources never wait for it
/// unless the overflow policy is `wait` (offline processing).
final class PortWorker: @unchecked Sendable {
    let port: any SidetapCore.Port
    let kind: String
    /// The port's config entry, which a reload compares with the new file's.
    let config: PortConfig
    /// One per source, in source order; this worker is their rings' only consumer.
    let lanes: [Lane]
    let rings: [PacketRing]
    let sources: [SourceDescription]
    var bucket: TokenBucket?
    /// Shape (wait for tokens) instead of police (drop over the rate).
    let shapes: Bool
    let timeSource: any TimeSource
    /// True once every producer has finished; set by the engine.
    let producersFinished = Atomic<Bool>(false)
    /// Set by `Engine.stop()`: a shaping port stops waiting and drops what is queued.
    let stopRequested = Atomic<Bool>(false)

    let sent = Counter()
    let sentBytes = Counter()
    let rateLimited = Counter()
    let writeErrors = Counter()
    private let errorLock = Mutex<String?>(nil)
    /// Open outcome: nil while opening, then "" for success or the error text.
    private let openOutcome = Mutex<String?>(nil)

    init(port: any SidetapCore.Port, config: PortConfig, lanes: [Lane], sources: [SourceDescription], bucket: TokenBucket?,
         shapes: Bool = false, timeSource: any TimeSource) {
        self.port = port
        self.kind = config.kind.rawValue
        self.config = config
        self.lanes = lanes
        self.rings = lanes.map(\.ring)
        self.sources = sources
        self.bucket = bucket
        self.shapes = shapes && bucket != nil
        self.timeSource = timeSource
    }

    var lastError: String? { errorLock.withLock { $0 } }

    /// Blocks until the worker has opened its port; returns the error text on failure.
    func waitUntilOpened() -> String? {
        var backoff = IdleBackoff()
        while true {
            if let outcome = openOutcome.withLock({ $0 }) { return outcome.isEmpty ? nil : outcome }
            backoff.pause()
        }
    }

    var queued: Int { rings.reduce(0) { $0 + $1.occupancy } }

    /// Packets the sources chose for this port, over all its lanes.
    var selected: UInt64 { lanes.reduce(0) { $0 + $1.selected.value } }

    /// Chosen packets dropped because one of this port's rings was full.
    var droppedRingFull: UInt64 { lanes.reduce(0) { $0 + $1.ringFull.value } }

    /// Chosen packets this port's clearance refused.
    var droppedLabel: UInt64 { lanes.reduce(0) { $0 + $1.labelDropped.value } }

    func run() {
        do {
            try port.open(sources: sources)
            openOutcome.withLock { $0 = "" }
        } catch {
            openOutcome.withLock { $0 = "\(error)" }
            return
        }
        let tickInterval: Int64 = 100_000_000
        var nextTick = timeSource.monotonicNanos() + tickInterval
        var dirty = false
        var backoff = IdleBackoff()
        var localSent: UInt64 = 0
        var localBytes: UInt64 = 0
        var localRate: UInt64 = 0
        var localErrors: UInt64 = 0
        var lastErrorCode: PortWriteError? = nil
        let port = self.port
        let limited = bucket != nil

        func publish() {
            sent.publish(localSent)
            sentBytes.publish(localBytes)
            rateLimited.publish(localRate)
            writeErrors.publish(localErrors)
            if let error = lastErrorCode {
                errorLock.withLock { $0 = error.description }
                lastErrorCode = nil
            }
        }

        let shapes = self.shapes
        let timeSource = self.timeSource
        let sleep = PrecisionSleep.makeSleeper(for: timeSource)
        // Packets written since the last flush: a rate-limited port that sends on flush
        // accounts for them leaving together (`TokenBucket.sentTogether`), so a flush the
        // scheduler delayed is no burst.
        let accountsFlushes = limited && port.sendsOnFlush
        var unflushedPackets = 0
        var unflushedBytes = 0
        func flushPort() {
            do throws(PortWriteError) { try port.flush() } catch { lastErrorCode = error }
            if accountsFlushes, unflushedPackets > 0 {
                bucket!.sentTogether(packets: unflushedPackets, wireBytes: unflushedBytes, nowNanos: timeSource.monotonicNanos())
            }
            unflushedPackets = 0
            unflushedBytes = 0
        }
        while true {
            var consumed = 0
            var now = limited ? timeSource.monotonicNanos() : 0
            for ring in rings {
                consumed += ring.consume(limit: shapes ? 64 : 512) { entry in
                    if shapes {
                        // Hold the packet until the bucket allows it (the ring is the queue).
                        var wait = bucket!.nanosUntilAdmissible(wireBytes: Int(entry.length), nowNanos: now)
                        // A port that batches its writes sends what it holds before waiting, so
                        // the shaped rate is what leaves the port, not bursts of a whole batch.
                        if wait > 0 {
                            flushPort()
                            now = timeSource.monotonicNanos()
                            wait = bucket!.nanosUntilAdmissible(wireBytes: Int(entry.length), nowNanos: now)
                        }
                        while wait > 0 && !stopRequested.load(ordering: .relaxed) {
                            let deadline = now &+ min(wait, 20_000_000)
                            sleep(deadline)
                            now = timeSource.monotonicNanos()
                            wait = bucket!.nanosUntilAdmissible(wireBytes: Int(entry.length), nowNanos: now)
                        }
                    }
                    if limited, !bucket!.admit(wireBytes: Int(entry.length), nowNanos: now) {
                        localRate &+= 1
                        return
                    }
                    let packet = OutboundPacket(
                        bytes: entry.buffer, wireLength: entry.wireLength, timestampNanos: entry.timestampNanos,
                        sourceIndex: entry.sourceIndex, linkType: sources[Int(entry.sourceIndex)].linkType)
                    do throws(PortWriteError) {
                        try port.write(packet)
                        localSent &+= 1
                        localBytes &+= UInt64(entry.length)
                        unflushedPackets &+= 1
                        unflushedBytes &+= Int(entry.length)
                    } catch {
                        localErrors &+= 1
                        lastErrorCode = error
                    }
                }
            }
            if consumed > 0 {
                dirty = true
                backoff.reset()
                publish()
            } else {
                if dirty {
                    flushPort()
                    dirty = false
                    publish()
                }
                if producersFinished.load(ordering: .acquiring) && rings.allSatisfy(\.isEmpty) { break }
                backoff.pause()
            }
            let clock = timeSource.monotonicNanos()
            if clock >= nextTick {
                nextTick = clock + tickInterval
                do throws(PortWriteError) { try port.tick(wallNanos: timeSource.wallNanos()) } catch { lastErrorCode = error }
            }
        }
        flushPort()
        do { try port.close() } catch { errorLock.withLock { $0 = "close: \(error)" } }
        publish()
    }
}
