#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the engine reads the time: a monotonic clock for rates and a wall clock for file
/// names and rotation. Tests substitute a manual one.
public protocol TimeSource: AnyObject, Sendable {
    /// Monotonic nanoseconds (arbitrary origin), for token buckets and pacing.
    func monotonicNanos() -> Int64
    /// Wall-clock nanoseconds since the Unix epoch, for rotation and file names.
    func wallNanos() -> Int64
}

/// The system's clocks (`clock_gettime` CLOCK_MONOTONIC and CLOCK_REALTIME; vDSO, no syscall).
public final class SystemTimeSource: TimeSource {
    public static let shared = SystemTimeSource()
    public init() {}

    @inlinable
    public func monotonicNanos() -> Int64 { Self.read(CLOCK_MONOTONIC) }
    @inlinable
    public func wallNanos() -> Int64 { Self.read(CLOCK_REALTIME) }

    @inlinable
    static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
