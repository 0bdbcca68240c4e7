import SidetapCore

/// Decides when each packet of a replay is due and waits for it.
///
/// The schedule is absolute: the first packet is due when it arrives, and every later packet
/// at a time computed from the first one (its timestamp offset scaled by the multiplier, or
/// its index over the packet rate, or the bits before it over the bit rate). Nothing is
/// accumulated from sleep to sleep, so late wake-ups never add up to drift over a long run; a
/// packet that is already late is delivered at once and the ones after it catch up.
///
/// Time is read from a `TimeSource` and waiting goes through a sleep function that takes an
/// absolute monotonic deadline, so tests drive it with `ManualTimeSource` and a sleep that
/// advances that clock. One thread uses a pacer.
public final class ReplayPacer {
    /// The pacing in force.
    public let pacing: ReplayPacing
    /// Where "now" comes from.
    public let timeSource: any TimeSource
    /// The longest single sleep, so a stop request is noticed within about this time.
    public let maximumSleepNanos: Int64
    private let sleep: (Int64) -> Void

    private var started = false
    private var startNanos: Int64 = 0
    private var firstTimestamp: Int64 = 0
    private var packetIndex: Int64 = 0
    private var bitsBefore: UInt64 = 0

    /// How late the last packet was released after its due time (0 when on time).
    public private(set) var lastLatenessNanos: Int64 = 0
    /// The largest lateness seen since the schedule started.
    public private(set) var maximumLatenessNanos: Int64 = 0

    /// A pacer reading `timeSource` and waiting with `sleep(deadline)`, which must return at
    /// or after the absolute monotonic `deadline` (or earlier; the pacer then sleeps again).
    /// The default sleep is `PrecisionSleep`'s (CLOCK_MONOTONIC, deadlines translated when
    /// `timeSource` is another clock).
    public init(
        _ pacing: ReplayPacing, timeSource: any TimeSource = SystemTimeSource.shared,
        maximumSleepNanos: Int64 = 20_000_000, sleep: ((Int64) -> Void)? = nil
    ) throws(ReplayPacingError) {
        try pacing.validate()
        self.pacing = pacing
        self.timeSource = timeSource
        self.maximumSleepNanos = max(1, maximumSleepNanos)
        self.sleep = sleep ?? PrecisionSleep.makeSleeper(for: timeSource)
    }

    /// Forgets the schedule: the next packet starts a new one (a new file, a resumed replay).
    public func reset() {
        started = false
        packetIndex = 0
        bitsBefore = 0
        maximumLatenessNanos = 0
    }

    /// The monotonic time at which this packet is due, and moves the schedule past it.
    /// Call once per packet, in order. The first packet is due now.
    public func schedule(timestampNanos: Int64, wireLength: UInt32) -> Int64 {
        if !started {
            started = true
            startNanos = timeSource.monotonicNanos()
            firstTimestamp = timestampNanos
        }
        let offset: Int64
        switch pacing {
        case .multiplier(let factor):
            let elapsed = Self.saturatingSubtract(timestampNanos, firstTimestamp)
            offset = factor == 1 ? elapsed : Self.nanos(Double(elapsed) / factor)
        case .packetsPerSecond(let rate):
            offset = Self.nanos(Double(packetIndex) * 1e9 / rate)
        case .megabitsPerSecond(let rate):
            offset = Self.nanos(Double(bitsBefore) * 1e3 / rate)
        case .topSpeed:
            offset = 0
        }
        packetIndex &+= 1
        bitsBefore &+= UInt64(wireLength) &* 8
        return Self.saturatingAdd(startNanos, offset)
    }

    /// Waits until the packet is due. Returns false when `shouldStop` turned true before
    /// that (checked at least every `maximumSleepNanos`), true when the packet is due.
    @discardableResult
    public func wait(timestampNanos: Int64, wireLength: UInt32, shouldStop: () -> Bool = { false }) -> Bool {
        if case .topSpeed = pacing { return true }
        return wait(until: schedule(timestampNanos: timestampNanos, wireLength: wireLength), shouldStop: shouldStop)
    }

    /// True when a packet due at `due` (from `schedule`) may go now.
    public func isDue(_ due: Int64) -> Bool { timeSource.monotonicNanos() >= due }

    /// Waits until `due`, a time from `schedule`. Returns false when `shouldStop` turned true
    /// before that (checked at least every `maximumSleepNanos`), true when the time came.
    @discardableResult
    public func wait(until due: Int64, shouldStop: () -> Bool = { false }) -> Bool {
        while true {
            let now = timeSource.monotonicNanos()
            if now >= due {
                lastLatenessNanos = now - due
                if lastLatenessNanos > maximumLatenessNanos { maximumLatenessNanos = lastLatenessNanos }
                return true
            }
            if shouldStop() { return false }
            sleep(min(due, Self.saturatingAdd(now, maximumSleepNanos)))
        }
    }

    /// Nanoseconds from a double, rounded, saturating at the Int64 range.
    static func nanos(_ value: Double) -> Int64 {
        if value.isNaN { return 0 }
        if value >= 9.2e18 { return Int64.max }
        if value <= -9.2e18 { return Int64.min }
        return Int64(value.rounded())
    }

    static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    static func saturatingSubtract(_ a: Int64, _ b: Int64) -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b < 0 ? .max : .min) : difference
    }
}
