import Foundation
import SidetapCapture
import SidetapDaemon
import SidetapTestKit
import Testing

/// `Engine.reloadRules`: sources switch to new rules between two batches, the port keeps
/// writing, and no packet is lost or doubled across the switch.
@Suite struct RulesReloadTests {
    /// One packet as tcpdump prints it: nanosecond timestamp and whether it is TCP.
    struct Seen: Equatable {
        var time: String
        var tcp: Bool
        var udp: Bool
    }

    static func packets(_ file: String) throws -> [Seen] {
        let lines = try ExternalTool.output("/usr/bin/tcpdump", ["-r", file, "-nn", "-q", "-tt", "--time-stamp-precision=nano"])
        return lines.split(separator: "\n").map { line in
            let time = String(line.split(separator: " ").first ?? "")
            return Seen(time: time, tcp: line.contains(": tcp "), udp: line.contains(": UDP"))
        }
    }

    @Test(.timeLimit(.minutes(2))) func newRulesTakeOverWithoutLosingAPacket() throws {
        let dir = TestSupport.temporaryDirectory("rules-reload")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 3000, port: "name: out, kind: file, path: out.pcap", rules: "accept tcp\n")
        let config = try SidetapConfig.load(path: dir + "/c.yaml")
        let engine = try EngineAssembly.build(config, overrides: .init(pacing: .packetsPerSecond(3000)))
        try engine.start()
        Thread.sleep(forTimeInterval: 0.4)
        try "accept udp\n".write(toFile: dir + "/port.rules", atomically: true, encoding: .utf8)
        try engine.reloadRules(try SidetapConfig.load(path: dir + "/c.yaml"))
        // A broken rules file is refused and changes nothing.
        try "accept nonsense\n".write(toFile: dir + "/port.rules", atomically: true, encoding: .utf8)
        #expect(throws: EngineError.self) { try engine.reloadRules(try SidetapConfig.load(path: dir + "/c.yaml")) }
        engine.waitUntilFinished()

        let input = try Self.packets(dir + "/in.pcap")
        let output = try Self.packets(dir + "/out.pcap")
        let lastTCP = try #require(output.lastIndex { $0.tcp }, "no TCP packet before the reload")
        let firstUDP = try #require(output.firstIndex { $0.udp }, "no UDP packet after the reload")
        #expect(lastTCP < firstUDP, "TCP and UDP output interleave")
        #expect(output.allSatisfy { $0.tcp || $0.udp })
        // Every input TCP packet up to the last one written, and every input UDP packet from the
        // first one written, is in the output: nothing lost around the switch.
        let inputLastTCP = try #require(input.firstIndex(of: output[lastTCP]))
        let inputFirstUDP = try #require(input.firstIndex(of: output[firstUDP]))
        #expect(inputLastTCP < inputFirstUDP)
        let expected = input[...inputLastTCP].filter(\.tcp).count + input[inputFirstUDP...].filter(\.udp).count
        #expect(output.count == expected, "output \(output.count), expected \(expected)")
    }
}
