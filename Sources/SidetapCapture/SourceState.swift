import SidetapCore
import Synchronization

/// The parts of a file source that other threads look at: counters, the stop flag and the
/// last problem. The polling thread is the only writer of the counters.
final class SourceState: Sendable {
    let delivered = Counter()
    let errors = Counter()
    private let stopRequested = Atomic<Bool>(false)
    private let problem = Mutex<String?>(nil)

    /// Counters as `SourceStatistics` (file sources never drop in a kernel).
    var statistics: SourceStatistics {
        var statistics = SourceStatistics()
        statistics.delivered = delivered.value
        statistics.errors = errors.value
        return statistics
    }

    /// The last problem recorded (read from any thread; set rarely, never per packet).
    var lastProblem: String? {
        problem.withLock { $0 }
    }

    /// Records a read error that ends the input.
    /// The outcome of a poll that delivered `count` packets, counting them: `.delivered` when
    /// any came, otherwise `.endOfInput` once the source is `finished`.
    func pollOutcome(delivered count: Int, finished: Bool) -> SourcePoll {
        if count > 0 {
            delivered.add(UInt64(count))
            return .delivered(count)
        }
        return finished ? .endOfInput : .delivered(0)
    }

    func recordReadError(_ message: String) {
        errors.add()
        problem.withLock { $0 = message }
    }

    /// True once `stop()` was called; the acquiring load pairs with `requestStop`'s release.
    var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Asks the polling thread to finish; the releasing store pairs with `isStopRequested`.
    func requestStop() { stopRequested.store(true, ordering: .releasing) }

    /// Clears the stop flag when the source is opened again.
    func resetStop() { stopRequested.store(false, ordering: .releasing) }
}
