import SidetapCore
#if canImport(Glibc)
import Glibc
#endif

/// A named OS thread for the engine's blocking loops (capture, port workers), which must not
/// run on Swift's cooperative thread pool. Started and joined by one owner at a time (the
/// engine under its locks), hence `@unchecked Sendable`.
final class WorkerThread: @unchecked Sendable {
    private var thread: pthread_t? = nil
    private let body: () -> Void
    let name: String

    init(name: String, body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }

    /// Starts the thread; throws when the OS refuses.
    func start() throws {
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { raw in
            let worker = Unmanaged<WorkerThread>.fromOpaque(raw!).takeRetainedValue()
            worker.body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<WorkerThread>.fromOpaque(context).release()
            throw SidetapCore.SystemError(code: result, operation: "pthread_create \(name)")
        }
        thread = handle
    }

    /// Waits for the thread to end.
    func join() {
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }
}

/// Backs off an idle loop: one yield, then sleeps that double from 50 µs up to 1 ms.
///
/// Yielding in a loop looks cheap but is not on a small machine: with a source and four port
/// workers on two cores, idle workers yielding to each other took a third of all CPU time in
/// the 4-port benchmark (context switches), starving the source. Sleeping lets a worker drain
/// its ring in batches instead; rings are sized for milliseconds of traffic.
struct IdleBackoff {
    private var rounds = 0

    mutating func reset() { rounds = 0 }

    mutating func pause() {
        rounds += 1
        if rounds == 1 {
            sched_yield()
        } else {
            let micros = min(1000, 50 << min(rounds - 2, 5))
            usleep(UInt32(micros))
        }
    }
}
