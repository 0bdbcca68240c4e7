import Foundation
import SidetapTraffic

/// Paths and process helpers for the daemon tests.
enum TestSupport {
    /// The repository root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The `sidetap` executable `swift test` built next to the test bundle.
    static var sidetapExecutable: String {
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent("sidetap").path,
                          repositoryRoot + "/.build/debug/sidetap"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return repositoryRoot + "/.build/debug/sidetap"
    }

    /// A fresh temporary directory, removed by the caller with `cleanup`.
    static func temporaryDirectory(_ tag: String) -> String {
        let path = NSTemporaryDirectory() + "sidetap-daemon-\(tag)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func cleanup(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes a deterministic synthetic capture and returns its path.
    @discardableResult
    static func writeCapture(_ path: String, packets: Int, seed: UInt64 = 7) throws -> String {
        _ = try TrafficGenerator(seed: seed, packets: packets).write(to: path)
        return path
    }

    /// The result of a finished process.
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` with `arguments`, optionally sending SIGINT after `interruptAfter`
    /// seconds, and fails the wait after `timeout` seconds (the process is killed).
    static func run(_ executable: String, _ arguments: [String], directory: String? = nil,
                    interruptAfter: Double? = nil, timeout: Double = 60) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes concurrently so a chatty process never blocks.
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box()
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let started = Date()
        var interrupted = false
        while process.isRunning {
            let elapsed = Date().timeIntervalSince(started)
            if let after = interruptAfter, !interrupted, elapsed >= after {
                kill(process.processIdentifier, SIGINT)
                interrupted = true
            }
            if elapsed > timeout {
                process.terminate()
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        group.wait()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outBox.data, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// `tcpdump -r FILE [EXPR]` printing every packet's nanosecond timestamp, lengths and bytes.
    static func tcpdumpDump(_ file: String, expression: String? = nil) throws -> [String] {
        var arguments = ["-r", file, "-nn", "-tt", "-x", "--time-stamp-precision=nano", "-e"]
        if let expression { arguments.append(expression) }
        let result = try run("/usr/bin/tcpdump", arguments)
        guard result.status == 0 else { throw TestFailure("tcpdump failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// Number of packets tcpdump reads from FILE with EXPR.
    static func tcpdumpCount(_ file: String, expression: String? = nil) throws -> Int {
        var arguments = ["-r", file, "-nn", "-q"]
        if let expression { arguments.append(expression) }
        let result = try run("/usr/bin/tcpdump", arguments)
        guard result.status == 0 else { throw TestFailure("tcpdump failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").count
    }
}

/// A test precondition failure with a message.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
