import Foundation
import SidetapCore
import SidetapSelect
import Testing

/// The example rule files in filters/ compile and do what their comments say.
@Suite struct FiltersTests {
    static func rules(_ name: String, slice: Int? = nil) throws -> PortRules {
        let path = Support.repositoryRoot + "/filters/" + name
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return PortRules(name: name, rulesFile: "filters/" + name, text: text, slice: slice)
    }

    @Test func everyFilterFileCompiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Support.repositoryRoot + "/filters")
            .filter { $0.hasSuffix(".rules") }.sorted()
        #expect(names.count >= 4)
        let set = try CompiledRuleSet(ports: try names.map { try Self.rules($0) }, sources: Harness.sources)
        #expect(set.ports.allSatisfy { !$0.rules.isEmpty })
    }

    @Test func webToWAF() throws {
        let h = try Harness([try Self.rules("web-to-waf.rules")])
        #expect(h.accepts(Frames.tcp4("203.0.113.9", 50000, "10.0.0.10", 443)))
        #expect(h.accepts(Frames.tcp4("10.0.0.10", 443, "203.0.113.9", 50000)))     // the response
        #expect(h.accepts(Frames.tcp4("203.0.113.9", 50001, "10.0.0.10", 80)))
        #expect(h.accepts(Frames.udp4("203.0.113.9", 50002, "10.0.0.10", 443)))      // QUIC
        #expect(!h.accepts(Frames.tcp4("10.20.30.4", 40000, "10.0.0.10", 80)))       // health check
        #expect(!h.accepts(Frames.tcp4("10.0.0.10", 80, "10.20.30.4", 40000)))       // its answer
        #expect(!h.accepts(Frames.tcp4("203.0.113.9", 50003, "10.0.0.10", 22)))
        #expect(!h.accepts(Frames.udp4("10.0.0.10", 5000, "8.8.8.8", 53)))
    }

    @Test func dnsToIDS() throws {
        let h = try Harness([try Self.rules("dns-to-ids.rules")])
        #expect(h.accepts(Frames.udp4("10.0.0.10", 5000, "8.8.8.8", 53)))
        #expect(h.accepts(Frames.udp4("8.8.8.8", 53, "10.0.0.10", 5000)))
        #expect(h.accepts(Frames.tcp4("10.0.0.10", 5001, "8.8.8.8", 53)))
        #expect(h.accepts(Frames.tcp4("10.0.0.10", 5002, "1.1.1.1", 853)))
        #expect(!h.accepts(Frames.tcp4("10.0.0.10", 5003, "1.1.1.1", 443)))
        #expect(!h.accepts(Frames.icmp4("10.0.0.10", "8.8.8.8")))
    }

    @Test func archiveAll() throws {
        let h = try Harness([try Self.rules("archive-all.rules")])
        #expect(h.accepts(Frames.udp4("10.0.0.10", 5000, "8.8.8.8", 53, payload: 600)))
        #expect(h.selector.sliceLength(port: 0) == UInt32.max)
        #expect(h.accepts(Frames.tcp4("10.0.0.10", 5000, "8.8.8.8", 443, payload: 600)))
        #expect(h.selector.sliceLength(port: 0) == 256)
        #expect(h.accepts(Frames.arp()))
        #expect(h.selector.sliceLength(port: 0) == 256)
    }

    @Test func eastWest() throws {
        let h = try Harness([try Self.rules("east-west.rules")])
        #expect(h.accepts(Frames.tcp4("10.0.1.10", 5000, "10.0.2.7", 3306)))
        #expect(h.accepts(Frames.tcp4("10.0.2.7", 3306, "10.0.1.10", 5000)))
        #expect(h.accepts(Frames.tcp6([0xfd00, 1, 0, 0, 0, 0, 0, 1], 5000, [0xfd00, 2, 0, 0, 0, 0, 0, 2], 22)))
        #expect(!h.accepts(Frames.tcp4("10.0.1.10", 5000, "10.99.4.2", 443)))          // north-south, sample plan
        #expect(!h.accepts(Frames.tcp6([0xfd00, 1, 0, 0, 0, 0, 0, 1], 5000, [0xfd00, 0x99, 0, 0, 0, 0, 4, 2], 22)))
        #expect(!h.accepts(Frames.tcp4("10.0.0.10", 5000, "93.184.216.34", 443)))     // north-south
        #expect(!h.accepts(Frames.tcp4("93.184.216.34", 443, "10.0.0.10", 5000)))
        #expect(!h.accepts(Frames.tcp6([0xfd00, 0, 0, 0, 0, 0, 0, 1], 5000, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 2], 22)))
        #expect(!h.accepts(Frames.arp()))
    }
}
