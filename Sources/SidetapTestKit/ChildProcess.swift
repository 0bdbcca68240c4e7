import CSidetapLinux
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process for a test, started with `posix_spawn` and reaped with `waitpid` on its
/// own pid.
///
/// Not Foundation's `Process`, for two reasons met in this suite: its exit monitor sometimes
/// missed a child's exit (a test waited forever on a tcpdump that was already a zombie), and
/// it hands children the spawning thread's signal mask, in which the test runner's threads
/// block SIGINT and SIGTERM (a tcpdump or `sidetap run` could then never be told to stop).
/// Children here start with an empty mask and default SIGINT, SIGTERM and SIGPIPE handling.
public final class ChildProcess: @unchecked Sendable {
    /// Where a child's standard output or error goes.
    public enum Destination: Sendable {
        /// /dev/null.
        case discard
        /// A file, created or truncated.
        case file(String)
        /// A pipe; its read end is `standardOutput` / `standardError`.
        case pipe
        /// For standard error: wherever standard output goes.
        case standardOutput
    }

    public let pid: pid_t
    /// Read ends of the pipes asked for (nil otherwise); the caller owns them.
    public let standardOutput: FileHandle?
    public let standardError: FileHandle?
    private var status: Int32?

    /// Starts `arguments[0]` (an absolute path) with `arguments`, in `directory` when given.
    public init(_ arguments: [String], directory: String? = nil,
                standardOutput output: Destination = .discard, standardError error: Destination = .discard) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var childEnds: [Int32] = []
        func route(_ destination: Destination, to descriptor: Int32) throws -> FileHandle? {
            switch destination {
            case .discard:
                posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
                return nil
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                return nil
            case .standardOutput:
                posix_spawn_file_actions_adddup2(&actions, 1, descriptor)
                return nil
            case .pipe:
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { throw ChildProcessError("pipe: \(String(cString: strerror(errno)))") }
                // Close-on-exec: the child keeps only the copy dup2 puts on `descriptor`, so
                // the read end reaches end-of-file once the child (and its children) exit.
                for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
                posix_spawn_file_actions_adddup2(&actions, ends[1], descriptor)
                childEnds.append(ends[1])
                return FileHandle(fileDescriptor: ends[0], closeOnDealloc: true)
            }
        }
        standardOutput = try route(output, to: 1)
        standardError = try route(error, to: 2)
        if let directory {
            let failed = withUnsafeMutablePointer(to: &actions) { CSidetapLinux_spawnAddChdir($0, directory) }
            guard failed == 0 else { throw ChildProcessError("chdir \(directory): \(String(cString: strerror(failed)))") }
        }
        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, &attributes, cArguments, environ)
        for end in childEnds { close(end) }
        guard result == 0 else {
            throw ChildProcessError("posix_spawn \(arguments[0]): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// True until the child has exited (and then it is reaped).
    public var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, WNOHANG)
        if result == pid { status = raw; return false }
        if result < 0 { status = -1; return false }   // not our child any more: nothing to wait for
        return true
    }

    /// The exit status (or 128 + signal for a child a signal ended); -1 when something else
    /// reaped it (status unknown); nil while it runs.
    public var exitStatus: Int32? {
        guard !isRunning, let raw = status else { return nil }
        if raw < 0 { return -1 }
        let signal = raw & 0x7F
        return signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
    }

    /// Sends `signal` to the child if it still runs.
    public func signal(_ signal: Int32) {
        if isRunning { Glibc.kill(pid, signal) }
    }

    /// Waits for the child to exit, at most `seconds`, then kills it (SIGKILL) and reaps it.
    /// Returns the exit status.
    @discardableResult
    public func wait(atMost seconds: Double) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning, Date() < deadline { usleep(5_000) }
        if isRunning {
            Glibc.kill(pid, SIGKILL)
            var raw: Int32 = 0
            if waitpid(pid, &raw, 0) == pid { status = raw } else { status = -1 }
        }
        return exitStatus ?? -1
    }

    /// Ends the child at once (SIGKILL) and reaps it.
    public func kill() {
        wait(atMost: 0)
    }

    /// Sends SIGINT, waits up to `seconds`, then SIGKILL.
    public func stop(within seconds: Double = 10) {
        guard isRunning else { return }
        Glibc.kill(pid, SIGINT)
        wait(atMost: seconds)
    }

    // The names tests used with Foundation's Process.

    /// The child's process id.
    public var processIdentifier: pid_t { pid }

    /// Sends SIGTERM.
    public func terminate() { signal(SIGTERM) }

    /// Sends SIGINT.
    public func interrupt() { signal(SIGINT) }

    /// Waits for the child to exit: at most a minute, then it is killed, so a test never
    /// hangs on a child that ignores its signals.
    public func waitUntilExit() { wait(atMost: 60) }

    /// The exit status once it has exited (`exitStatus`), -1 before.
    public var terminationStatus: Int32 { exitStatus ?? -1 }

    deinit { stop(within: 2) }
}

/// A child process that could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
