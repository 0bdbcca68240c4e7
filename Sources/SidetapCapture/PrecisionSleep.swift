import CSidetapLinux
import Glibc
import SidetapCore

/// Sleeping until an absolute CLOCK_MONOTONIC deadline with microsecond accuracy.
///
/// The thread's timer slack is set to 1 ns (prctl PR_SET_TIMERSLACK; the default 50 µs slack
/// makes every wake-up about 55 µs late), it sleeps with `clock_nanosleep(TIMER_ABSTIME)`
/// until shortly before the deadline, then spins on the clock for the rest (at most
/// `spinNanos`).
public enum PrecisionSleep {
    /// The default spin window: a wake-up with 1 ns slack is rarely later than this.
    public static let defaultSpinNanos: Int64 = 50_000

    /// A sleep function for `ReplayPacer`; it sets the timer slack of whichever thread calls
    /// it the first time that thread does.
    ///
    /// Deadlines are in `clock`'s monotonic time. For `SystemTimeSource` (the default) that is
    /// CLOCK_MONOTONIC itself; any other clock's deadline is turned into the same distance from
    /// now on CLOCK_MONOTONIC.
    public static func makeSleeper(for clock: any TimeSource = SystemTimeSource.shared, spinNanos: Int64 = defaultSpinNanos) -> (Int64) -> Void {
        let slack = SlackState()
        if clock is SystemTimeSource {
            return { deadline in
                slack.ensureSet()
                sleep(untilMonotonic: deadline, spinNanos: spinNanos)
            }
        }
        return { deadline in
            slack.ensureSet()
            let remaining = deadline - clock.monotonicNanos()
            if remaining > 0 { sleep(untilMonotonic: monotonicNow() + remaining, spinNanos: spinNanos) }
        }
    }

    /// Sleeps until `deadline` (CLOCK_MONOTONIC nanoseconds), spinning for the last
    /// `spinNanos`. Returns at once when the deadline has passed.
    public static func sleep(untilMonotonic deadline: Int64, spinNanos: Int64 = defaultSpinNanos) {
        let wake = deadline - max(0, spinNanos)
        if monotonicNow() < wake {
            var target = timespec(tv_sec: Int(wake / 1_000_000_000), tv_nsec: Int(wake % 1_000_000_000))
            // clock_nanosleep returns the error number itself; EINTR means "sleep again".
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
        }
        while monotonicNow() < deadline {}
    }

    /// Sets the calling thread's timer slack (`prctl(PR_SET_TIMERSLACK)`); false on failure.
    @discardableResult
    public static func setTimerSlack(nanos: UInt) -> Bool {
        CSidetapLinux_setTimerSlack(nanos) == 0
    }

    static func monotonicNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Remembers which thread last had its slack set, so each thread sets it once.
    private final class SlackState {
        private var thread: pthread_t?

        func ensureSet() {
            let current = pthread_self()
            if let thread, pthread_equal(thread, current) != 0 { return }
            thread = current
            setTimerSlack(nanos: 1)
        }
    }
}
