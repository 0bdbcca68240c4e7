import SidetapCore
import Synchronization

/// A clock that moves only when a test says so; both monotonic and wall time advance together.
public final class ManualTimeSource: TimeSource {
    private let monotonic: Atomic<Int64>
    private let wall: Atomic<Int64>

    /// Starts at `wallNanos` (default 2026-01-01T00:00:00Z) with monotonic time 0.
    public init(wallNanos: Int64 = 1_767_225_600_000_000_000, monotonicNanos: Int64 = 0) {
        wall = Atomic(wallNanos)
        monotonic = Atomic(monotonicNanos)
    }

    public func monotonicNanos() -> Int64 { monotonic.load(ordering: .acquiring) }
    public func wallNanos() -> Int64 { wall.load(ordering: .acquiring) }

    /// Moves both clocks forward by `nanos`.
    public func advance(nanos: Int64) {
        monotonic.add(nanos, ordering: .releasing)
        wall.add(nanos, ordering: .releasing)
    }

    /// Moves both clocks forward by `seconds`.
    public func advance(seconds: Double) {
        advance(nanos: Int64(seconds * 1e9))
    }
}
