#if canImport(Glibc)
import Glibc
#endif

/// What `LiveCapture.wait` saw: which captures have packets, which report an error, and
/// whether the wake descriptor fired. Bit `i` of a mask stands for `captures[i]`.
public struct CaptureReadiness: Sendable, Equatable {
    /// Captures with packets waiting (POLLIN).
    public var readable: UInt8 = 0
    /// Captures whose socket reports an error or hang-up (POLLERR, POLLHUP, POLLNVAL); their
    /// `takeSocketError()` says which.
    public var failed: UInt8 = 0
    /// The wake descriptor became readable.
    public var woken = false

    public init(readable: UInt8 = 0, failed: UInt8 = 0, woken: Bool = false) {
        self.readable = readable
        self.failed = failed
        self.woken = woken
    }

    /// Nothing happened before the timeout.
    public var timedOut: Bool { readable == 0 && failed == 0 && !woken }
}

extension LiveCapture {
    /// Waits with poll(2) until one of `captures` (at most 8) has packets or an error, the
    /// `wakeDescriptor` (an eventfd or pipe, -1 for none) becomes readable, or
    /// `timeoutMilliseconds` pass. A signal interrupting the wait counts as a timeout.
    public static func wait(for captures: [LiveCapture], wakeDescriptor: Int32 = -1, timeoutMilliseconds: Int) -> CaptureReadiness {
        precondition(captures.count <= 8, "at most 8 captures per wait")
        let count = captures.count + 1
        return withUnsafeTemporaryAllocation(of: pollfd.self, capacity: count) { fds in
            for (i, capture) in captures.enumerated() {
                fds[i] = pollfd(fd: capture.selectableDescriptor, events: Int16(POLLIN), revents: 0)
            }
            fds[captures.count] = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(fds.baseAddress, nfds_t(count), Int32(clamping: timeoutMilliseconds))
            var readiness = CaptureReadiness()
            guard ready > 0 else { return readiness }
            let failure = Int16(POLLERR | POLLHUP | POLLNVAL)
            for i in 0..<captures.count {
                if fds[i].revents & Int16(POLLIN) != 0 { readiness.readable |= 1 << UInt8(i) }
                if fds[i].revents & failure != 0 { readiness.failed |= 1 << UInt8(i) }
            }
            readiness.woken = fds[captures.count].revents != 0
            return readiness
        }
    }
}
