import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The background thread of a `GuestSource`: asks its resolver every `intervalMilliseconds`
/// (a hypervisor lookup may be slow, so it never runs on the capture thread), leaves the
/// latest answer in a mailbox and wakes the capture thread.
///
/// The thread is detached and holds the loop strongly; `stop()` returns at once, and a lookup
/// still in progress then finishes without publishing.
final class ResolverLoop: Sendable {
    let resolver: any InterfaceResolver
    let intervalMilliseconds: Int
    /// The capture thread's wake pipe, signalled after each published answer.
    private let notify: WakePipe
    private let timer = WakePipe()
    private let stopped = Atomic<Bool>(false)
    private let mailbox = Mutex<InterfaceResolution?>(nil)
    private let published = Atomic<UInt64>(0)

    init(resolver: any InterfaceResolver, intervalMilliseconds: Int, notify: WakePipe) {
        self.resolver = resolver
        self.intervalMilliseconds = max(1, intervalMilliseconds)
        self.notify = notify
    }

    /// Starts the thread; false when no thread could be created.
    func start() -> Bool {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            let loop = Unmanaged<ResolverLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<ResolverLoop>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// Ends the loop after the current wait or lookup; safe from any thread. The releasing
    /// store pairs with the acquiring loads in `run`.
    func stop() {
        stopped.store(true, ordering: .releasing)
        timer.signal()
    }

    /// Makes the loop look up now instead of at the end of its interval.
    func resolveNow() { timer.signal() }

    /// How many answers were published; the releasing increment in `run` pairs with this
    /// acquiring load, so a changed count means `take()` sees the new answer.
    var generation: UInt64 { published.load(ordering: .acquiring) }

    /// The latest answer.
    func take() -> InterfaceResolution? { mailbox.withLock { $0 } }

    private func run() {
        while !stopped.load(ordering: .acquiring) {
            var fd = pollfd(fd: timer.readDescriptor, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&fd, 1, Int32(clamping: intervalMilliseconds))
            timer.drain()
            if stopped.load(ordering: .acquiring) { return }
            let answer = resolver.resolve()
            if stopped.load(ordering: .acquiring) { return }
            mailbox.withLock { $0 = answer }
            published.add(1, ordering: .releasing)
            notify.signal()
        }
    }
}
