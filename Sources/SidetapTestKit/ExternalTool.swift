import Foundation

/// Runs an external program (tcpdump, tshark, the `sidetap` executable) for a test and
/// collects what it printed; both output pipes are drained concurrently so a chatty program
/// never blocks. The program is a `ChildProcess` (posix_spawn, waitpid): an empty signal
/// mask, and an exit that is never missed.
public enum ExternalTool {
    /// What a finished program left behind.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// True when the program exited with status 0.
        public var succeeded: Bool { status == 0 }
    }

    /// A program exited with a failure status.
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var output: Output
        public var description: String { "\(command) exited with \(output.status): \(output.stderr.prefix(500))" }
    }

    /// Runs `executable` with `arguments`; sends SIGINT after `interruptAfter` seconds when
    /// given, and terminates the program once `timeout` seconds have passed.
    public static func run(_ executable: String, _ arguments: [String], directory: String? = nil,
                           interruptAfter: Double? = nil, timeout: Double = 120) throws -> Output {
        let child = try ChildProcess([executable] + arguments, directory: directory,
                                     standardOutput: .pipe, standardError: .pipe)
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box()
        let errBox = Box()
        let group = DispatchGroup()
        for (handle, box) in [(child.standardOutput, outBox), (child.standardError, errBox)] {
            guard let handle else { continue }
            group.enter()
            DispatchQueue.global().async { box.data = handle.readDataToEndOfFile(); group.leave() }
        }
        let started = Date()
        var interrupted = false
        while child.isRunning {
            let elapsed = Date().timeIntervalSince(started)
            if let after = interruptAfter, !interrupted, elapsed >= after {
                child.signal(SIGINT)
                interrupted = true
            }
            if elapsed > timeout {
                child.signal(SIGTERM)
                break
            }
            usleep(5_000)
        }
        let status = child.wait(atMost: 10)
        group.wait()
        return Output(status: status,
                      stdout: String(decoding: outBox.data, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Runs the program and returns its standard output, throwing `Failure` on a non-zero exit.
    public static func output(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> String {
        let result = try run(executable, arguments, timeout: timeout)
        guard result.succeeded else {
            throw Failure(command: ([executable] + arguments).joined(separator: " "), output: result)
        }
        return result.stdout
    }
}
