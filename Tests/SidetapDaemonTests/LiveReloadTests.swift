import Foundation
import SidetapCapture
import SidetapControl
import SidetapCore
@testable import SidetapDaemon
import SidetapTestKit
import Testing

/// Live reload of ports (`Engine.apply`, `POST /v1/reload`): a paced file source produces a
/// steady, countable stream while the test rewrites the config under the running engine.
@Suite(.serialized) struct LiveReloadTests {
    static let packets = 4000
    static let pace = 4000.0

    /// Every packet of `file` as tcpdump prints its nanosecond timestamp, in order.
    static func timestamps(_ file: String) throws -> [String] {
        let result = try ExternalTool.run("/usr/bin/tcpdump", ["-r", file, "-nn", "-q", "-tt", "--time-stamp-precision=nano"])
        guard result.succeeded else { throw TestFailure("tcpdump cannot read \(file): \(result.stderr)") }
        return result.stdout.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }
    }

    /// Writes `c.yaml` in `dir` with the source `x` (in.pcap) and one file port per name, each
    /// writing `<name>.pcap` through `port.rules`.
    static func writeConfig(_ dir: String, ports: [String], extra: String = "") throws {
        var yaml = "sources:\n  - { name: x, file: in.pcap }\nports:\n"
        for name in ports { yaml += "  - { name: \(name), kind: file, path: \(name).pcap, rules: port.rules }\n" }
        yaml += "control: { audit: audit.jsonl }\n" + extra
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
    }

    /// A running engine over `packets` paced packets and the file ports `ports`.
    static func start(_ dir: String, ports: [String], pace: Double = pace) throws -> Engine {
        try TestSupport.writeCapture(dir + "/in.pcap", packets: packets)
        try "accept any\n".write(toFile: dir + "/port.rules", atomically: true, encoding: .utf8)
        try writeConfig(dir, ports: ports)
        let engine = try EngineAssembly.build(try SidetapConfig.load(path: dir + "/c.yaml"),
                                              overrides: .init(pacing: .packetsPerSecond(pace)))
        try engine.start()
        return engine
    }

    /// Waits (bounded) until the source has delivered at least `count` packets.
    static func waitForPackets(_ engine: Engine, _ count: UInt64) throws {
        let deadline = Date().addingTimeInterval(60)
        while engine.statistics().sources[0].packets < count {
            guard Date() < deadline else { throw TestFailure("the source delivered too few packets") }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    @Test(.timeLimit(.minutes(2))) func anAddedPortStartsAndTheKeptPortLosesNothing() throws {
        let dir = TestSupport.temporaryDirectory("reload-add")
        defer { TestSupport.cleanup(dir) }
        let engine = try Self.start(dir, ports: ["keep"])
        try Self.waitForPackets(engine, 800)
        try Self.writeConfig(dir, ports: ["keep", "new"])
        let report = try engine.apply(try SidetapConfig.load(path: dir + "/c.yaml"))
        #expect(report.added == ["new"] && report.kept == ["keep"] && report.removed.isEmpty && report.replaced.isEmpty, "\(report)")
        #expect(engine.statistics().ports.map(\.name) == ["keep", "new"])
        let atReload = engine.statistics().sources[0].packets
        #expect(atReload < UInt64(Self.packets), "the run ended before the reload: nothing to test")
        engine.waitUntilFinished()

        let stats = engine.statistics()
        #expect(stats.sources[0].packets == UInt64(Self.packets))
        let keep = try #require(stats.ports.first { $0.name == "keep" })
        #expect(keep.selected == UInt64(Self.packets) && keep.sent == UInt64(Self.packets), "\(keep)")
        #expect(keep.droppedRingFull == 0)
        let input = try Self.timestamps(dir + "/in.pcap")
        #expect(try Self.timestamps(dir + "/keep.pcap") == input, "the kept port lost or reordered packets")
        // The added port has exactly the input's tail from its first packet on.
        let added = try Self.timestamps(dir + "/new.pcap")
        #expect(added.count > 0 && added.count < Self.packets, "added port wrote \(added.count)")
        let addedFirst = try #require(added.first)
        let first = try #require(input.firstIndex(of: addedFirst))
        #expect(Array(input[first...]) == added, "the added port lost packets after its start")
        let new = try #require(stats.ports.first { $0.name == "new" })
        #expect(new.sent == UInt64(added.count))
    }

    @Test(.timeLimit(.minutes(2))) func aRemovedPortClosesItsFileComplete() throws {
        let dir = TestSupport.temporaryDirectory("reload-remove")
        defer { TestSupport.cleanup(dir) }
        let engine = try Self.start(dir, ports: ["keep", "gone"])
        try Self.waitForPackets(engine, 800)
        try Self.writeConfig(dir, ports: ["keep"])
        let report = try engine.apply(try SidetapConfig.load(path: dir + "/c.yaml"))
        #expect(report.removed == ["gone"] && report.kept == ["keep"] && report.added.isEmpty, "\(report)")
        // The port has closed when `apply` returns: its file has its final name and is complete.
        #expect(engine.statistics().ports.map(\.name) == ["keep"])
        #expect(FileManager.default.fileExists(atPath: dir + "/gone.pcap"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/.gone.pcap.part"))
        let gone = try Self.timestamps(dir + "/gone.pcap")
        #expect(engine.statistics().sources[0].packets < UInt64(Self.packets), "the run ended before the reload: nothing to test")
        engine.waitUntilFinished()

        let input = try Self.timestamps(dir + "/in.pcap")
        #expect(try Self.timestamps(dir + "/keep.pcap") == input, "the kept port lost or reordered packets")
        #expect(gone.count > 0 && gone.count < Self.packets)
        #expect(Array(input.prefix(gone.count)) == gone, "the removed port's file is not the input's head")
        #expect(try Self.timestamps(dir + "/gone.pcap") == gone, "the removed port wrote after it closed")
        let keep = try #require(engine.statistics().ports.first)
        #expect(keep.name == "keep" && keep.sent == UInt64(Self.packets))
    }

    @Test(.timeLimit(.minutes(2))) func aPortWithNewSettingsIsReplaced() throws {
        let dir = TestSupport.temporaryDirectory("reload-replace")
        defer { TestSupport.cleanup(dir) }
        let engine = try Self.start(dir, ports: ["keep", "swap"])
        try Self.waitForPackets(engine, 800)
        var yaml = try String(contentsOfFile: dir + "/c.yaml", encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "path: swap.pcap", with: "path: swap2.pcapng")
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let report = try engine.apply(try SidetapConfig.load(path: dir + "/c.yaml"))
        #expect(report.replaced == ["swap"] && report.kept == ["keep"], "\(report)")
        #expect(engine.statistics().ports.map(\.name) == ["keep", "swap"])
        engine.waitUntilFinished()

        let input = try Self.timestamps(dir + "/in.pcap")
        #expect(try Self.timestamps(dir + "/keep.pcap") == input)
        let before = try Self.timestamps(dir + "/swap.pcap")
        let after = try Self.timestamps(dir + "/swap2.pcapng")
        #expect(!before.isEmpty && !after.isEmpty)
        #expect(Array(input.prefix(before.count)) == before)
        let afterFirst = try #require(after.first)
        let first = try #require(input.firstIndex(of: afterFirst))
        #expect(first >= before.count && Array(input[first...]) == after)
    }

    @Test(.timeLimit(.minutes(2))) func anInvalidConfigIsRefusedAndChangesNothing() async throws {
        let dir = TestSupport.temporaryDirectory("reload-invalid")
        defer { TestSupport.cleanup(dir) }
        let engine = try Self.start(dir, ports: ["keep"], pace: 1000)
        let running = try SidetapConfig.load(path: dir + "/c.yaml")
        let reload = ControlReload(path: dir + "/c.yaml", running: PipelineSignature(running), access: nil, engine: engine)
        try Self.waitForPackets(engine, 400)

        // A bad rule in a new port's rules file: refused with the file and line.
        try "accept any\naccept nonsense\n".write(toFile: dir + "/bad.rules", atomically: true, encoding: .utf8)
        try (try String(contentsOfFile: dir + "/c.yaml", encoding: .utf8)
            .replacingOccurrences(of: "ports:\n", with: "ports:\n  - { name: bad, kind: file, path: bad.pcap, rules: bad.rules }\n"))
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let badRule = await reload()
        #expect(!badRule.applied && badRule.message.contains("running configuration stays"), "\(badRule)")
        #expect(badRule.errors.contains { $0.contains("bad.rules:2") }, "\(badRule.errors)")

        // An unknown key: refused with the config file's line.
        try Self.writeConfig(dir, ports: ["keep", "other"])
        try (try String(contentsOfFile: dir + "/c.yaml", encoding: .utf8)
            .replacingOccurrences(of: "path: other.pcap", with: "path: other.pcap, colour: blue"))
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let unknownKey = await reload()
        #expect(!unknownKey.applied, "\(unknownKey)")
        #expect(unknownKey.errors.contains { $0.contains("c.yaml:5:") && $0.contains("colour") }, "\(unknownKey.errors)")

        // What only a restart applies: refused with each reason.
        try Self.writeConfig(dir, ports: ["keep"], extra: "options: { ring_slots: 1024 }\n")
        let options = await reload()
        #expect(!options.applied && options.errors.contains { $0.contains("'options' changed") }, "\(options)")
        try (try String(contentsOfFile: dir + "/c.yaml", encoding: .utf8)
            .replacingOccurrences(of: "options: { ring_slots: 1024 }\n", with: "")
            .replacingOccurrences(of: "file: in.pcap }", with: "file: in.pcap }\n  - { name: y, file: in.pcap }"))
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let source = await reload()
        #expect(!source.applied && source.errors.contains { $0.contains("source 'y' is new") }, "\(source)")
        try Self.writeConfig(dir, ports: ["keep"], extra: "")
        try (try String(contentsOfFile: dir + "/c.yaml", encoding: .utf8)
            .replacingOccurrences(of: "audit: audit.jsonl", with: "audit: other.jsonl"))
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let control = await reload()
        #expect(!control.applied && control.message.contains("control section"), "\(control)")

        // The pipeline ran on unchanged: one port, every packet.
        #expect(engine.statistics().ports.map(\.name) == ["keep"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad.pcap") && !FileManager.default.fileExists(atPath: dir + "/other.pcap"))

        // A valid file afterwards is applied through the same path, with what changed.
        try Self.writeConfig(dir, ports: ["keep", "late"])
        let late = await reload()
        let finishedEarly = engine.sourcesFinished
        #expect(late.applied || finishedEarly, "\(late)")
        if late.applied { #expect(late.message.contains("added late") && late.message.contains("kept keep"), "\(late.message)") }
        engine.waitUntilFinished()
        #expect(try Self.timestamps(dir + "/keep.pcap") == (try Self.timestamps(dir + "/in.pcap")))
    }
}
