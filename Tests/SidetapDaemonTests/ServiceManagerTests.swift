import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import SidetapControl
import SidetapDaemon
import SidetapTestKit
import Testing

/// A Unix datagram socket standing in for systemd's notification socket.
final class NotifyListener {
    let fd: Int32
    /// What to put in NOTIFY_SOCKET: a path, or `@name` for an abstract socket.
    let name: String

    init(name: String) throws {
        self.name = name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard fd >= 0, bound == 0 else { throw TestFailure("cannot bind \(name): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }

    /// The next datagram, or nil after 200 ms without one.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    /// Datagrams until `done` holds for the last one or `seconds` pass.
    func collect(seconds: Double, until done: (String) -> Bool) -> [String] {
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let message = receive() else { continue }
            messages.append(message)
            if done(message) { break }
        }
        return messages
    }
}

/// sd_notify without libsystemd: parsing the environment, and datagrams to path and abstract sockets.
@Suite struct NotifySocketTests {
    @Test func theEnvironmentNamesTheSocketAndTheWatchdog() {
        #expect(NotifySocket.from(environment: [:]) == nil)
        #expect(NotifySocket.from(environment: ["NOTIFY_SOCKET": "relative/path"]) == nil)
        #expect(NotifySocket.from(environment: ["NOTIFY_SOCKET": "@"]) == nil)
        #expect(NotifySocket.from(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"])?.watchdogInterval == nil)
        let watched = NotifySocket.from(environment: ["NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"], pid: 42)
        #expect(watched?.path == "@sd" && watched?.watchdogInterval == .seconds(30))
        // Another process is the one watched.
        #expect(NotifySocket.from(environment: ["NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "43"], pid: 42)?.watchdogInterval == nil)
        #expect(NotifySocket.from(environment: ["NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "nonsense"])?.watchdogInterval == nil)
    }

    @Test func datagramsReachPathAndAbstractSockets() throws {
        let dir = TestSupport.temporaryDirectory("notify")
        defer { TestSupport.cleanup(dir) }
        for name in [dir + "/notify.sock", "@sidetap-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"] {
            let listener = try NotifyListener(name: name)
            let socket = NotifySocket(path: name)
            try socket.send([("READY", "1"), ("STATUS", "two\nlines")])
            #expect(listener.receive() == "READY=1\nSTATUS=two lines")
            try socket.reloading()
            let reloading = listener.receive() ?? ""
            #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") && UInt64(reloading.split(separator: "=").last ?? "") != nil, "\(reloading)")
        }
        #expect(throws: NotifySocket.Failure.self) { try NotifySocket(path: dir + "/nobody.sock").send("READY=1") }
    }
}

/// Journal detection and the journal line format.
@Suite struct JournalLoggingTests {
    @Test func linesCarryTheSyslogPriorityAndNoTimestamp() {
        #expect(JournalLogHandler.format(label: "sidetap", level: .error, message: "port failed", metadata: ["sidetap.port": "waf", "error": "EIO"])
                == "<3>sidetap: port failed error=EIO sidetap.port=waf\n")
        #expect(JournalLogHandler.format(label: "sidetap", level: .info, message: "a\nb", metadata: [:]) == "<6>sidetap: a\n<6>sidetap: b\n")
        let priorities = [Logger.Level.trace, .debug, .info, .notice, .warning, .error, .critical].map(JournalLogHandler.priority)
        #expect(priorities == [7, 7, 6, 5, 4, 3, 2])
    }

    @Test func theHandlerMergesMetadataAndHonoursItsLevel() {
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        var logger = Logger(label: "sidetap") { JournalLogHandler(label: $0) { lines.all.append($0) } }
        logger.logLevel = .notice
        logger[metadataKey: "sidetap.source"] = "web01"
        logger.info("not shown")
        logger.warning("interface gone", metadata: ["interface": "vnet0"])
        #expect(lines.all == ["<4>sidetap: interface gone interface=vnet0 sidetap.source=web01\n"])
    }

    @Test func standardErrorIsTheJournalOnlyWhenDeviceAndInodeMatch() throws {
        let dir = TestSupport.temporaryDirectory("journal")
        defer { TestSupport.cleanup(dir) }
        let fd = open(dir + "/stream", O_CREAT | O_WRONLY, 0o600)
        defer { close(fd) }
        let (device, inode) = try ServiceManagerCommandLineTests.deviceAndInode(dir + "/stream")
        let value = "\(device):\(inode)"
        #expect(JournalStream.parse(value)?.inode == inode)
        #expect(JournalStream.isJournal(descriptor: fd, journalStream: value))
        #expect(!JournalStream.isJournal(descriptor: fd, journalStream: "\(device):\(inode + 1)"))
        #expect(!JournalStream.isJournal(descriptor: fd, journalStream: nil))
        #expect(!JournalStream.isJournal(descriptor: fd, journalStream: "garbage"))
        #expect(JournalStream.parse("1:2:3") == nil && JournalStream.parse(":5") == nil)
    }
}

/// `sidetap run` under a stand-in for systemd: READY=1 once the control socket answers,
/// watchdog pings, STATUS lines, STOPPING=1; journal-style log lines when JOURNAL_STREAM names
/// its stderr, the usual format otherwise.
@Suite(.serialized) struct ServiceManagerCommandLineTests {
    /// Runs `sidetap run c.yaml` in `dir` with `environment` added; stderr goes to `stderr.log`.
    static func start(_ dir: String, environment: [String: String], journal: Bool) throws -> Process {
        let stderrPath = dir + "/stderr.log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        let (device, inode) = try deviceAndInode(stderrPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.sidetapExecutable)
        process.arguments = ["run", dir + "/c.yaml", "--status", "off", "--log-level", "info"]
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] { env.removeValue(forKey: key) }
        env.merge(environment) { _, new in new }
        env["JOURNAL_STREAM"] = journal ? "\(device):\(inode)" : "1:1"
        process.environment = env
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The device and inode of `path` (what JOURNAL_STREAM names).
    static func deviceAndInode(_ path: String) throws -> (UInt64, UInt64) {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value,
              let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value else { throw TestFailure("no device or inode for \(path)") }
        return (device, inode)
    }

    static func wait(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); return false }
        return true
    }

    @Test(.timeLimit(.minutes(3))) func runReportsReadinessStatusWatchdogAndStopping() throws {
        let dir = TestSupport.temporaryDirectory("sdnotify")
        defer { TestSupport.cleanup(dir) }
        // 4,800 packets shaped to 800 pps: about six seconds of running.
        try TestSupport.writeOnePortJob(dir, packets: 4800, port: "name: slow, kind: discard, rate: { pps: 800, mode: shape }", rules: "accept\n",
                                        options: "options: { control_socket: \(dir)/control.sock }\n")
        let listener = try NotifyListener(name: dir + "/notify.sock")
        let process = try Self.start(dir, environment: ["NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": "400000"], journal: true)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        let first = listener.collect(seconds: 60) { $0.contains("READY=1") }
        #expect(first.last?.contains("READY=1") == true, "no READY=1: \(first)")
        #expect(ControlSocket.isAnswering(dir + "/control.sock") || !process.isRunning, "READY=1 before the control socket answered")
        #expect(first.last?.contains("STATUS=") == true)
        // A reload over the control socket is announced: RELOADING=1, then READY=1 with the outcome.
        let reload = try ExternalTool.run(TestSupport.sidetapExecutable, ["ctl", "reload", "--socket", dir + "/control.sock"], timeout: 60)
        #expect(reload.succeeded, "\(reload.stdout)\(reload.stderr)")
        let rest = listener.collect(seconds: 60) { $0.contains("STOPPING=1") }
        let reloading = rest.firstIndex { $0.contains("RELOADING=1") && $0.contains("MONOTONIC_USEC=") }
        let readyAgain = rest.firstIndex { $0.contains("READY=1") && $0.contains("STATUS=reloaded: ") }
        #expect(reloading != nil && readyAgain != nil && reloading! < readyAgain!, "\(rest)")
        #expect(rest.last?.contains("STOPPING=1") == true, "no STOPPING=1: \(rest)")
        #expect(rest.filter { $0.contains("WATCHDOG=1") }.count >= 2, "watchdog pings every 200 ms: \(rest)")
        #expect(Self.wait(process, seconds: 60))
        #expect(process.terminationStatus == 0)

        let log = try String(contentsOfFile: dir + "/stderr.log", encoding: .utf8)
        let lines = log.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("<6>sidetap: engine started") }, "\(log.prefix(800))")
        // The summary is plain text, not a log line; every log line has a priority.
        #expect(lines.filter { $0.contains("sidetap: engine") }.allSatisfy { $0.hasPrefix("<") })
    }

    @Test(.timeLimit(.minutes(2))) func withoutTheJournalLinesKeepTheirTimestamps() throws {
        let dir = TestSupport.temporaryDirectory("nojournal")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 50, port: "name: d, kind: discard", rules: "accept\n", options: "options: { control_socket: off }\n")
        let process = try Self.start(dir, environment: [:], journal: false)
        #expect(Self.wait(process, seconds: 60))
        let log = try String(contentsOfFile: dir + "/stderr.log", encoding: .utf8)
        let started = log.split(separator: "\n").first { $0.contains("engine started") }.map(String.init) ?? ""
        #expect(started.hasPrefix("20") && started.contains("info sidetap:"), "\(log.prefix(800))")
        #expect(!log.contains("<6>"))
    }
}
