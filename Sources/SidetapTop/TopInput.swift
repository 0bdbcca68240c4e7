import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the input thread reports to the `sidetap top` loop.
public enum TopInputEvent: Sendable, Equatable {
    case action(TopAction)
    /// The window changed size (SIGWINCH).
    case resize
    /// SIGINT, SIGTERM or SIGHUP, or the terminal closed: leave cleanly.
    case stop(reason: String)
}

/// A thread that waits in `poll` on the terminal and the signal pipe and reports keys and
/// signals as events; `finish()` wakes it through its own pipe and waits for it to end.
public final class TopInput: @unchecked Sendable {
    private let terminal: Int32
    private let signals: TopSignals
    private let wake: (read: Int32, write: Int32)
    private let done = DispatchSemaphore(value: 0)

    public init(terminal: Int32, signals: TopSignals, report: @escaping @Sendable (TopInputEvent) -> Void) throws(TopTerminal.Failure) {
        self.terminal = terminal
        self.signals = signals
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw TopTerminal.Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        wake = (ends[0], ends[1])
        let thread = Thread { [self] in
            signals.unblockOnThisThread()
            loop(report)
            done.signal()
        }
        thread.name = "sidetap-top-input"
        thread.start()
    }

    private func loop(_ report: @Sendable (TopInputEvent) -> Void) {
        var fds = [pollfd(fd: terminal, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: signals.readEnd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            for i in fds.indices { fds[i].revents = 0 }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                report(.stop(reason: "poll: \(String(cString: strerror(errno)))"))
                return
            }
            if fds[2].revents != 0 { return }
            if fds[1].revents & Int16(POLLIN) != 0 {
                let n = read(signals.readEnd, &buffer, buffer.count)
                for byte in buffer.prefix(max(0, n)) {
                    switch Int32(byte) {
                    case SIGWINCH: report(.resize)
                    case let signal: report(.stop(reason: "signal \(signal)"))
                    }
                }
            }
            if fds[0].revents != 0 {
                let n = read(terminal, &buffer, buffer.count)
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n <= 0 {
                    report(.stop(reason: "the terminal closed"))
                    return
                }
                for action in TopKeys.actions(in: Array(buffer.prefix(n))) { report(.action(action)) }
            }
        }
    }

    /// Stops the thread and waits for it.
    public func finish() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        done.wait()
        close(wake.read)
        close(wake.write)
    }
}
