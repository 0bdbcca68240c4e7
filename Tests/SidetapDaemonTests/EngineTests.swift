import Foundation
import SidetapTestKit
import SidetapCore
import SidetapDaemon
import Testing

/// The engine end to end, in process: a generated capture through rules to file ports, with
/// tcpdump as the independent oracle of what went out.
@Suite(.serialized) struct EngineTests {
    /// Builds a config in `directory` with one source and the given ports (YAML fragments);
    /// each port's rules text is written to `<name>.rules`.
    func config(_ directory: String, capture: String, ports: [(name: String, yaml: String, rules: String)],
                options: String = "") throws -> SidetapConfig {
        var yaml = "sources:\n  - { name: in, file: \(capture) }\nports:\n"
        for port in ports {
            try port.rules.write(toFile: "\(directory)/\(port.name).rules", atomically: true, encoding: .utf8)
            yaml += "  - { name: \(port.name), rules: \(port.name).rules, \(port.yaml) }\n"
        }
        yaml += options
        try yaml.write(toFile: directory + "/sidetap.yaml", atomically: true, encoding: .utf8)
        return try SidetapConfig.load(path: directory + "/sidetap.yaml")
    }

    func runToEnd(_ config: SidetapConfig) throws -> EngineStatistics {
        let engine = try EngineAssembly.build(config)
        try engine.start()
        engine.waitUntilFinished()
        return engine.statistics()
    }

    @Test func filePortsHoldExactlyWhatTcpdumpSelects() throws {
        let dir = TestSupport.temporaryDirectory("oracle")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 3000)
        let expressions = [
            ("web", "tcp port 80 or tcp port 443", "pcap"),
            ("dns", "udp port 53", "pcapng"),
            ("v6", "ip6", "pcap"),
            ("tagged", "vlan", "pcapng"),
        ]
        let cfg = try config(dir, capture: capture, ports: expressions.map { name, expr, format in
            (name, "kind: file, path: out/\(name).\(format)", "accept pcap \"\(expr)\"\n")
        })
        let stats = try runToEnd(cfg)
        for (i, (name, expr, format)) in expressions.enumerated() {
            let expected = try TestSupport.tcpdumpDump(capture, expression: expr)
            let got = try TestSupport.tcpdumpDump("\(dir)/out/\(name).\(format)")
            #expect(expected.count > 0, "\(expr) selects nothing in the generated capture")
            #expect(got == expected, "port \(name): output differs from tcpdump -r in '\(expr)'")
            let port = stats.ports[i]
            #expect(port.received == 3000)
            #expect(port.selected == UInt64(try TestSupport.tcpdumpCount(capture, expression: expr)))
            #expect(port.sent == port.selected && port.dropped == 0)
        }
        // No temporary file is left once the ports have closed.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").filter { $0.hasSuffix(".part") }
        #expect(leftovers.isEmpty)
    }

    @Test func slicingKeepsTheWireLength() throws {
        let dir = TestSupport.temporaryDirectory("slice")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 500)
        let cfg = try config(dir, capture: capture, ports: [("s", "kind: file, path: s.pcap, slice: 64", "accept any\n")])
        _ = try runToEnd(cfg)
        let out = try ExternalTool.run("/usr/bin/tshark", ["-r", dir + "/s.pcap", "-T", "fields", "-e", "frame.cap_len", "-e", "frame.len"])
        let rows = out.stdout.split(separator: "\n").map { $0.split(separator: "\t").compactMap { Int($0) } }
        #expect(rows.count == 500)
        #expect(rows.allSatisfy { $0.count == 2 && $0[0] == min(64, $0[1]) })
        #expect(rows.contains { $0[1] > 64 })
    }

    @Test func aRateLimitedPortDropsOnlyItsOwnPackets() throws {
        let dir = TestSupport.temporaryDirectory("rate")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 2000)
        let cfg = try config(dir, capture: capture, ports: [
            ("all", "kind: file, path: all.pcap", "accept any\n"),
            ("slow", "kind: discard, rate: { pps: 10, burst: 5 }", "accept any\n"),
        ])
        let stats = try runToEnd(cfg)
        #expect(stats.ports[0].sent == 2000)
        #expect(try TestSupport.tcpdumpCount(dir + "/all.pcap") == 2000)
        let slow = stats.ports[1]
        #expect(slow.selected == 2000)
        #expect(slow.sent >= 5 && slow.sent < 100)
        #expect(slow.sent + slow.droppedRateLimit == 2000)
    }

    @Test func aStuckPortFillsOnlyItsOwnRing() throws {
        let dir = TestSupport.temporaryDirectory("ringfull")
        defer { TestSupport.cleanup(dir) }
        let total = 100_000
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: total)
        // A stream port into a FIFO whose reader never reads: once the pipe is full the port
        // can deliver nothing more; it drops (write errors, or ring full when its worker falls
        // behind) and the discard port beside it must still get every packet.
        let fifo = dir + "/stuck.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        let cfg = try config(dir, capture: capture, ports: [
            ("good", "kind: discard", "accept any\n"),
            ("stuck", "kind: stream, path: \(fifo)", "accept any\n"),
        ], options: "options: { overflow: drop, ring_slots: 65536 }\n")
        let engine = try EngineAssembly.build(cfg)
        try engine.start()
        let deadline = Date().addingTimeInterval(60)
        while !engine.sourcesFinished && Date() < deadline { usleep(10_000) }
        #expect(engine.sourcesFinished, "the source was held back by a stuck port")
        close(reader)
        engine.waitUntilFinished()
        let stats = engine.statistics()
        #expect(stats.ports[0].sent == UInt64(total))
        #expect(stats.ports[0].dropped == 0)
        let stuck = stats.ports[1]
        #expect(stuck.selected == UInt64(total))
        #expect(stuck.droppedRingFull + stuck.droppedWriteError > UInt64(total / 2))
        #expect(stuck.sent < UInt64(total / 2))
        #expect(stuck.sent + stuck.droppedRingFull + stuck.droppedWriteError == UInt64(total))
    }

    @Test func aShapingPortPacesItsOutputAndLosesNothingOffline() throws {
        let dir = TestSupport.temporaryDirectory("shape")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 900)
        let cfg = try config(dir, capture: capture, ports: [
            ("paced", "kind: file, path: paced.pcap, rate: { pps: 3000, burst: 1, mode: shape }", "accept any\n"),
            ("fast", "kind: discard", "accept any\n"),
        ])
        let started = SystemTimeSource.shared.monotonicNanos()
        let stats = try runToEnd(cfg)
        let seconds = Double(SystemTimeSource.shared.monotonicNanos() - started) / 1e9
        // 899 gaps at 3000 pps: 0.3 s of pacing; nothing is dropped, the file holds all 900.
        #expect(seconds >= 0.29, "shaped in \(seconds) s")
        #expect(seconds < 5)
        #expect(stats.ports[0].sent == 900 && stats.ports[0].dropped == 0)
        #expect(try TestSupport.tcpdumpCount(dir + "/paced.pcap") == 900)
        #expect(stats.ports[1].sent == 900)
    }

    @Test func stoppingAShapingPortDropsItsQueueQuickly() throws {
        let dir = TestSupport.temporaryDirectory("shapestop")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 5000)
        let cfg = try config(dir, capture: capture, ports: [
            ("paced", "kind: discard, rate: { pps: 100, mode: shape }", "accept any\n"),
        ], options: "options: { overflow: drop }\n")
        let engine = try EngineAssembly.build(cfg)
        try engine.start()
        usleep(300_000)
        let stopped = SystemTimeSource.shared.monotonicNanos()
        engine.stop()
        engine.waitUntilFinished()
        #expect(SystemTimeSource.shared.monotonicNanos() - stopped < 2_000_000_000)
        let port = engine.statistics().ports[0]
        #expect(port.sent > 0 && port.sent < 200)
        #expect(port.sent + port.dropped == 5000)
    }

    @Test func waitPolicyLosesNothingThroughTinyRings() throws {
        let dir = TestSupport.temporaryDirectory("wait")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 20000)
        let cfg = try config(dir, capture: capture, ports: [
            ("a", "kind: file, path: a.pcapng", "accept any\n"),
            ("b", "kind: file, path: b.pcap", "accept tcp\n"),
        ], options: "options: { overflow: wait, ring_slots: 64, ring_bytes: 64KiB }\n")
        let stats = try runToEnd(cfg)
        #expect(stats.ports[0].sent == 20000 && stats.ports[0].dropped == 0)
        #expect(try TestSupport.tcpdumpCount(dir + "/a.pcapng") == 20000)
        #expect(stats.ports[1].sent == UInt64(try TestSupport.tcpdumpCount(capture, expression: "tcp or (vlan and tcp)")))
    }

    @Test func libpcapReaderAndMmapReaderGiveTheSameOutput() throws {
        let dir = TestSupport.temporaryDirectory("readers")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 1500)
        var outputs: [[String]] = []
        for reader in ["mmap", "libpcap"] {
            let yaml = "sources:\n  - { name: in, file: \(capture), reader: \(reader) }\nports:\n  - { name: o, kind: file, path: \(reader).pcap, rules: r.rules }\n"
            try "accept udp\naccept icmp\n".write(toFile: dir + "/r.rules", atomically: true, encoding: .utf8)
            try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
            _ = try runToEnd(try SidetapConfig.load(path: dir + "/c.yaml"))
            outputs.append(try TestSupport.tcpdumpDump("\(dir)/\(reader).pcap"))
        }
        #expect(outputs[0].count > 0)
        #expect(outputs[0] == outputs[1])
    }

    @Test func missingRulesFileAndBadRulesNameTheirPlace() throws {
        let dir = TestSupport.temporaryDirectory("badrules")
        defer { TestSupport.cleanup(dir) }
        let capture = try TestSupport.writeCapture(dir + "/in.pcap", packets: 10)
        try "sources:\n  - { name: in, file: \(capture) }\nports:\n  - { name: o, kind: discard, rules: missing.rules }\n"
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try EngineAssembly.build(try SidetapConfig.load(path: dir + "/c.yaml"))
            Issue.record("a missing rules file was accepted")
        } catch {
            #expect("\(error)".contains("missing.rules does not exist"))
            #expect("\(error)".contains("c.yaml:4:"))
        }
        _ = try config(dir, capture: capture, ports: [("o", "kind: discard", "accept tcp\naccept pcap \"tcp prt 80\"\n")])
        do {
            _ = try EngineAssembly.build(try SidetapConfig.load(path: dir + "/sidetap.yaml"))
            Issue.record("a bad pcap expression was accepted")
        } catch {
            #expect("\(error)".contains("o.rules:2"))
            #expect("\(error)".contains("syntax error"))
        }
    }
}
