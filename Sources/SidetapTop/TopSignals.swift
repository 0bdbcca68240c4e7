#if canImport(Glibc)
import Glibc
#endif

/// The write end of the self-pipe the signal handler writes to (set once, before the handler
/// is installed, and never changed while it is installed).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Turns signals into bytes on a pipe (the self-pipe trick), so the input thread sees them with
/// the keys in one `poll`: the handler only calls `write`, which is async-signal-safe.
/// `stop()` puts the previous handlers back.
public final class TopSignals: @unchecked Sendable {
    /// Read end: one byte per signal, its number.
    public let readEnd: Int32
    private let writeEnd: Int32
    private var previous: [(Int32, sigaction)] = []
    public let signals: [Int32]

    /// Installs the handler for `signals` (sigaction, SA_RESTART).
    public init(_ signals: [Int32]) throws(TopTerminal.Failure) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            throw TopTerminal.Failure(description: "pipe: \(String(cString: strerror(errno)))")
        }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
        self.signals = signals
        signalPipeWriteEnd = writeEnd
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = Glibc.write(signalPipeWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            var old = sigaction()
            sigaction(signal, &action, &old)
            previous.append((signal, old))
        }
    }

    /// Unblocks the signals on the calling thread, so that thread can take them even when the
    /// process inherited them blocked (pthread_sigmask).
    public func unblockOnThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Puts the previous handlers back and closes the pipe.
    public func stop() {
        for (signal, old) in previous {
            var action = old
            sigaction(signal, &action, nil)
        }
        previous = []
        close(readEnd)
        close(writeEnd)
    }
}
