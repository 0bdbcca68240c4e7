import Foundation
import Testing
import SidetapDaemon
import SidetapTestKit
import SidetapTraffic

/// Paths and process helpers for the daemon tests.
enum TestSupport {
    static let repositoryRoot = TestPaths.repositoryRoot

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

    /// Writes a one-port job into `dir`: `in.pcap` (`packets` generated packets), the port's
    /// rules file and `c.yaml` with one file source `x` and the port (`port` is its YAML fields
    /// other than `rules`, e.g. `name: all, kind: discard`). Returns the config path.
    @discardableResult
    static func writeOnePortJob(_ dir: String, packets: Int, port: String, rules: String, options: String = "") throws -> String {
        try writeCapture(dir + "/in.pcap", packets: packets)
        try rules.write(toFile: dir + "/port.rules", atomically: true, encoding: .utf8)
        // The control channel's audit log stays in the test's directory.
        let control = options.contains("control:") ? "" : "control: { audit: audit.jsonl }\n"
        let yaml = "sources:\n  - { name: x, file: in.pcap }\nports:\n  - { \(port), rules: port.rules }\n" + options + control
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        return dir + "/c.yaml"
    }

    /// `tcpdump -r FILE [EXPR]` printing every packet's nanosecond timestamp, lengths and bytes.
    static func tcpdumpDump(_ file: String, expression: String? = nil) throws -> [String] {
        var arguments = ["-r", file, "-nn", "-tt", "-x", "--time-stamp-precision=nano", "-e"]
        if let expression { arguments.append(expression) }
        let result = try ExternalTool.run("/usr/bin/tcpdump", arguments)
        guard result.status == 0 else { throw TestFailure("tcpdump failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// Number of packets tcpdump reads from FILE with EXPR.
    static func tcpdumpCount(_ file: String, expression: String? = nil) throws -> Int {
        var arguments = ["-r", file, "-nn", "-q"]
        if let expression { arguments.append(expression) }
        let result = try ExternalTool.run("/usr/bin/tcpdump", arguments)
        guard result.status == 0 else { throw TestFailure("tcpdump failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").count
    }
}

/// A test precondition failure with a message.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Parses `yaml` as config file `file` and checks that one of the errors contains `text` and
/// points at `line` of that file. Every config-error suite goes through this one check.
func expectConfigError(_ yaml: String, file: String = "t.yaml", line: Int, containing text: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    let found: [ConfigError]
    do {
        _ = try SidetapConfig.parse(yaml, file: file, baseDirectory: "/base")
        found = []
    } catch {
        found = error.errors
    }
    guard let first = found.first(where: { $0.message.contains(text) }) else {
        Issue.record("no error contains '\(text)'; got: \(found.map(\.description))", sourceLocation: sourceLocation)
        return
    }
    #expect(first.file == file, sourceLocation: sourceLocation)
    #expect(first.line == line, "line of '\(first.description)'", sourceLocation: sourceLocation)
    #expect(first.description.hasPrefix("\(file):\(line):"), sourceLocation: sourceLocation)
}
