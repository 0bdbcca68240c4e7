import Foundation
import SidetapTestKit
import SidetapCapture
import SidetapCore
import SidetapDaemon
import Testing

/// `kind: socket` through the command line: `sidetap replay` serves a live pcap stream on a Unix
/// socket, a reader that connects after the start gets a valid capture from the next packet on,
/// and what it gets is exactly the tail of what the rules select.
@Suite struct SocketPortCommandLineTests {
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    @Test(.timeLimit(.minutes(2))) func aLateReaderGetsAValidStreamOfTheSelectedTail() throws {
        let dir = TestSupport.temporaryDirectory("socket-cli")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 3000, port: "name: feed, kind: socket, listen: \"unix:feed.sock\"", rules: "accept tcp\n",
                                        options: "options: { control_socket: off }\n")
        let reader = """
            import socket, sys, time
            path, out = sys.argv[1], sys.argv[2]
            time.sleep(1.0)  # a late reader: the replay has been running for about a second
            for _ in range(200):
                try:
                    s = socket.socket(socket.AF_UNIX); s.connect(path); break
                except OSError:
                    time.sleep(0.05)
            else:
                sys.exit('no socket')
            with open(out, 'wb') as f:
                while True:
                    d = s.recv(65536)
                    if not d: break
                    f.write(d)
            """
        try reader.write(toFile: dir + "/reader.py", atomically: true, encoding: .utf8)
        final class Box: @unchecked Sendable { var output: ExternalTool.Output? }
        let replayed = Box()
        let done = DispatchSemaphore(value: 0)
        Thread {
            replayed.output = try? ExternalTool.run(TestSupport.sidetapExecutable,
                                                    ["replay", dir + "/in.pcap", "--config", dir + "/c.yaml", "--pps", "1500", "--status", "off"],
                                                    timeout: 60)
            done.signal()
        }.start()
        // The reader connects as soon as the socket exists (about when the replay starts).
        let read = try ExternalTool.run(Self.python, [dir + "/reader.py", dir + "/feed.sock", dir + "/feed.pcap"], timeout: 60)
        #expect(read.succeeded, "reader: \(read.stderr)")
        #expect(done.wait(timeout: .now() + 90) == .success)
        let output = try #require(replayed.output, "the replay did not run")
        #expect(output.status == 0, "replay: \(output.stderr.prefix(500))")

        // -S: absolute sequence numbers (tcpdump's relative ones depend on where a file starts).
        func dump(_ file: String, _ expression: [String] = []) throws -> [String] {
            try ExternalTool.output("/usr/bin/tcpdump", ["-r", file, "-nn", "-S", "-tt", "-x", "--time-stamp-precision=nano", "-e"] + expression)
                .split(separator: "\n").map(String.init)
        }
        let selected = try dump(dir + "/in.pcap", ["tcp or (vlan and tcp)"])
        let received = try dump(dir + "/feed.pcap")
        #expect(!received.isEmpty && received.count < selected.count, "the reader got \(received.count) of \(selected.count) lines")
        // Byte for byte (tcpdump -x), the stream is the tail of the selected packets.
        #expect(Array(selected.suffix(received.count)) == received)
    }
}

/// A socket port's readers in the engine's statistics (what `GET /v1/ports` serves).
@Suite struct SocketReaderStatisticsTests {
    static func connect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 { close(fd); return -1 }
        return fd
    }

    @Test(.timeLimit(.minutes(1))) func readersAreCountedInStatistics() throws {
        let dir = TestSupport.temporaryDirectory("readers")
        defer { TestSupport.cleanup(dir) }
        let port = UInt16.random(in: 30_000...39_000)
        try TestSupport.writeOnePortJob(dir, packets: 1500, port: "name: feed, kind: socket, listen: \"tcp://127.0.0.1:\(port)\", max_readers: 1",
                                        rules: "accept any\n", options: "options: { control_socket: off }\n")
        let config = try SidetapConfig.load(path: dir + "/c.yaml")
        let engine = try EngineAssembly.build(config, overrides: .init(pacing: .packetsPerSecond(1000)))
        try engine.start()
        var reader: Int32 = -1
        for _ in 0..<100 where reader < 0 {
            reader = Self.connect(port: port)
            if reader < 0 { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(reader >= 0, "could not connect to the socket port")
        defer { if reader >= 0 { close(reader) } }
        // A second reader beyond max_readers is refused.
        let refused = Self.connect(port: port)
        defer { if refused >= 0 { close(refused) } }
        var seen: ReaderStatistics?
        for _ in 0..<100 {
            seen = engine.statistics().ports[0].readers
            if seen?.connected == 1 && seen?.rejected == 1 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(seen?.connected == 1 && seen?.accepted == 1 && seen?.rejected == 1, "\(String(describing: seen))")
        engine.waitUntilFinished()
        let final = engine.statistics().ports[0]
        #expect(final.readers?.accepted == 1)
        #expect(final.sent > 0)
    }
}
