import Foundation
import SidetapTestKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP to a real `sidetap run` process (control socket off) applies a changed config file:
/// a live source captures a bounded UDP stream on the loopback of a namespace the test
/// creates, and a port added halfway starts writing while the kept port sees every packet.
@Suite struct LiveReloadSignalTests {
    static let datagrams = 3000

    /// Unblocks and resets the signals the test runner blocks, then runs the command.
    static let unblocked = """
        import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP): signal.signal(s, signal.SIG_DFL)
        os.execv(sys.argv[1], sys.argv[1:])
        """

    /// Sends DATAGRAMS UDP datagrams to 127.0.0.1:9999 (which it also listens on) at 1000/s.
    static let generator = """
        import socket, time
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('127.0.0.1', 9999))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        start = time.time()
        for i in range(\(datagrams)):
            s.sendto(b'sidetap-reload-%05d' % i, ('127.0.0.1', 9999))
            time.sleep(max(0.0, start + (i + 1) / 1000.0 - time.time()))
        """

    static func ip(_ arguments: [String]) throws {
        let result = try ExternalTool.run("/usr/sbin/ip", arguments, timeout: 30)
        guard result.succeeded else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    static func waitFor(_ what: String, seconds: Double, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { throw TestFailure("timed out waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    @Test(.timeLimit(.minutes(3))) func sighupAppliesAChangedFile() throws {
        guard getuid() == 0 else { throw TestFailure("this test captures in a network namespace and needs root") }
        let namespace = "strel-hup-" + String(UInt16.random(in: 0...0xFFFF), radix: 16)
        try Self.ip(["netns", "add", namespace])
        defer { _ = try? ExternalTool.run("/usr/sbin/ip", ["netns", "del", namespace], timeout: 30) }
        try Self.ip(["-n", namespace, "link", "set", "lo", "up"])

        let dir = TestSupport.temporaryDirectory("reload-sighup")
        defer { TestSupport.cleanup(dir) }
        try "accept udp\n".write(toFile: dir + "/port.rules", atomically: true, encoding: .utf8)
        func config(_ ports: [String]) throws {
            var yaml = "sources:\n  - { name: lo, interface: lo }\nports:\n"
            for name in ports { yaml += "  - { name: \(name), kind: file, path: \(name).pcap, rules: port.rules }\n" }
            yaml += "options: { control_socket: off, status: off }\n"
            try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        }
        try config(["keep"])

        let log = dir + "/sidetap.log"
        let sidetap = Process()
        sidetap.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        sidetap.arguments = ["netns", "exec", namespace, "/usr/bin/python3", "-c", Self.unblocked,
                             TestSupport.sidetapExecutable, "run", dir + "/c.yaml"]
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        sidetap.standardOutput = handle
        sidetap.standardError = handle
        sidetap.standardInput = FileHandle.nullDevice
        try sidetap.run()
        defer { if sidetap.isRunning { kill(sidetap.processIdentifier, SIGKILL) } }
        // The port opens after the live source is capturing.
        try Self.waitFor("sidetap to open its port", seconds: 60) {
            FileManager.default.fileExists(atPath: dir + "/.keep.pcap.part") || !sidetap.isRunning
        }
        #expect(sidetap.isRunning, "sidetap ended: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")

        let generator = Process()
        generator.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        generator.arguments = ["netns", "exec", namespace, "/usr/bin/python3", "-c", Self.generator]
        generator.standardOutput = FileHandle.nullDevice
        generator.standardError = FileHandle.nullDevice
        try generator.run()
        defer { if generator.isRunning { kill(generator.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 1.0)

        try config(["keep", "added"])
        kill(sidetap.processIdentifier, SIGHUP)
        try Self.waitFor("the reload", seconds: 60) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("reloaded")
        }
        try Self.waitFor("the generator", seconds: 60) { !generator.isRunning }
        Thread.sleep(forTimeInterval: 0.5)
        kill(sidetap.processIdentifier, SIGINT)
        try Self.waitFor("sidetap to exit", seconds: 60) { !sidetap.isRunning }

        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(sidetap.terminationStatus == 0, "\(output)")
        #expect(output.contains("added added") && output.contains("kept keep"), "\(output)")
        let kept = try TestSupport.tcpdumpCount(dir + "/keep.pcap", expression: "udp port 9999")
        #expect(kept == Self.datagrams, "the kept port wrote \(kept) of \(Self.datagrams) datagrams")
        let added = try TestSupport.tcpdumpCount(dir + "/added.pcap", expression: "udp port 9999")
        #expect(added > 0 && added < Self.datagrams, "the added port wrote \(added)")
    }
}
