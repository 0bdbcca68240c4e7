import SidetapCore
import SidetapPcap
import SidetapSelect
import Testing

/// pcap expressions settled once per flow: the same decisions as running them on every
/// packet, and no BPF run per packet when the answer cannot change within the flow.
@Suite struct FlowSettlingTests {
    /// Expressions that look only at what a flow shares, and expressions that do not.
    static let invariantExpressions = [
        "tcp port 80", "udp port 53 or icmp", "net 10.0.0.0/8", "ip6 and tcp", "portrange 1000-2000",
        "ip[0] & 0xf > 5", "src host 10.0.0.1 and tcp dst port 80", "ip proto 47", "ether proto 0x0800",
    ]
    static let varyingExpressions = [
        "ip[6:2] & 0x4000 != 0", "tcp[13] & 0x12 = 0x02", "greater 200", "vlan", "ip[8] < 64", "len < 100",
        "tcp and ip[2:2] > 60", "icmp[0] = 8", "udp[8:2] = 0x1234", "not ip", "arp", "ether broadcast",
        "tcp[tcpflags] & tcp-push != 0",
    ]

    /// The test's ports, with the expressions that libpcap compiles for this source (on some
    /// link types `vlan` or IP filtering does not exist, or an expression rejects everything).
    static func ports(for source: SourceDescription) -> [PortRules] {
        let usable = (invariantExpressions + varyingExpressions).filter { expression in
            (try? CompiledRuleSet(ports: [Support.port("probe", "accept pcap \"\(expression)\"")], sources: [source])) != nil
        }
        var ports = [
            Support.port("first", usable.map { "accept pcap \"\($0)\"" }.joined(separator: "\n")),
            Support.port("rejects", usable.reversed().map { "reject pcap \"\($0)\"" }.joined(separator: "\n") + "\naccept any"),
        ]
        if ["tcp port 80", "ip[0] & 0xf > 5", "ip[6:2] & 0x4000 != 0", "udp port 53 or icmp"].allSatisfy(usable.contains) {
            ports.append(Support.port("mixed", "reject pcap \"greater 1200\"\naccept tcp pcap \"tcp port 80 or tcp port 443\"\naccept udp flags !syn pcap \"udp port 53\"\naccept pcap \"ip[0] & 0xf = 5 and not ip[6:2] & 0x4000 != 0\" slice 64"))
            ports.append(Support.port("web", "accept pcap \"tcp port 80\""))
        }
        return ports
    }

    /// Settled (flow-cached) and per-packet (uncached) selection decide every packet alike,
    /// with the same slices and the same per-rule packet and byte counters.
    static func compare(_ path: String) throws -> (SelectionRun, Selector) {
        let (linkType, snaplen) = try Support.link(of: path)
        let source = Support.source(for: path, linkType: linkType, snaplen: snaplen)
        return try compare(path, try CompiledRuleSet(ports: ports(for: source), sources: [source]))
    }

    static func compare(_ path: String, _ rules: CompiledRuleSet) throws -> (SelectionRun, Selector) {
        let settled = Selector(rules)
        let reference = Selector(rules, flowCacheSize: 0)
        let run = try settled.run(path)
        let expected = try reference.run(path)
        #expect(run.decisions == expected.decisions, "\(path): settled decisions differ from per-packet ones")
        #expect(run.slices == expected.slices, "\(path): slices differ")
        for p in rules.ports.indices {
            let a = settled.counters.ports[p], b = reference.counters.ports[p]
            #expect(a.rules.map(\.value) == b.rules.map(\.value), "\(path): port \(p) rule packets")
            #expect(a.ruleBytes.map(\.value) == b.ruleBytes.map(\.value), "\(path): port \(p) rule bytes")
            #expect(a.unmatchedBytes.value == b.unmatchedBytes.value, "\(path): port \(p) unmatched bytes")
        }
        return (run, settled)
    }

    @Test func settledDecisionsMatchPerPacketOnGeneratedCaptures() throws {
        for path in [GeneratedTraffic.mixedPath, GeneratedTraffic.plainPath] {
            let (run, settled) = try Self.compare(path)
            #expect(run.delivered > 400)
            // Most packets run no program for the settled rules: far fewer runs than packets
            // times expressions (each packet would run up to 22 programs without settling).
            #expect(settled.pcapProgramRuns < UInt64(run.delivered) * 14, "\(settled.pcapProgramRuns) runs for \(run.delivered) packets")
        }
    }

    @Test func settledDecisionsMatchPerPacketOnTheWholeCorpus() throws {
        var files = 0, packets = 0
        for path in try Support.corpusFiles() {
            guard (try? OfflineCapture(path: path).close()) != nil else { continue }
            let (linkType, snaplen) = try Support.link(of: path)
            let source = Support.source(for: path, linkType: linkType, snaplen: snaplen)
            let ports = Self.ports(for: source)
            guard ports.count == 4 else { continue }   // no IP filtering on this link type
            let rules = try CompiledRuleSet(ports: ports, sources: [source])
            packets += try Self.compare(path, rules).0.delivered
            files += 1
        }
        #expect(files >= 700)
        #expect(packets > 10_000)
    }

    @Test func aFlowOnAPortRuleRunsNoProgramPerPacket() throws {
        let h = try Harness("accept pcap \"tcp port 80\"")
        for i in 0..<500 {
            #expect(h.accepts(Frames.tcp4("10.0.0.1", 40000, "10.0.0.2", 80, flags: i == 0 ? 0x002 : 0x018, payload: i % 7)))
            #expect(!h.accepts(Frames.tcp4("10.0.0.1", 40001, "10.0.0.2", 81)))
        }
        #expect(h.selector.pcapProgramRuns == 0)
        #expect(h.selector.counters.ports[0].rules[0].value == 500)
        #expect(h.selector.counters.ports[0].unmatched.value == 500)
    }

    @Test func aFlagsExpressionRunsOnEveryPacket() throws {
        let h = try Harness("accept pcap \"tcp[13] & 0x02 != 0\"")
        for i in 0..<100 {
            #expect(h.accepts(Frames.tcp4("10.0.0.1", 40000, "10.0.0.2", 80, flags: i % 2 == 0 ? 0x002 : 0x010)) == (i % 2 == 0))
        }
        #expect(h.selector.pcapProgramRuns == 100)
    }

    @Test func tcpPortExpressionIsInvariantButFlagsAndLengthsAreNot() throws {
        let frame = Frames.tcp4("10.0.0.1", 40000, "10.0.0.2", 80, payload: 10)
        let masks = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 256)
        defer { masks.deallocate() }
        masks.initialize(repeating: 0)
        var bits = InvariantBits(masks: masks)
        // Ethernet: EtherType, IPv4 version/IHL, fragment bits, protocol, addresses, ports.
        bits.know(12, 2)
        bits.know(14, 1)
        bits.know(bits: 0x3F, at: 20)
        bits.know(21, 1)
        bits.know(23, 1)
        bits.know(26, 8)
        bits.know(34, 4)
        bits.ensurePresent(38)
        func result(_ expression: String) throws -> Bool? {
            let program = try FilterProgram(expression: expression, linkType: .ethernet)
            return frame.withUnsafeBytes { program.flowInvariantResult($0, wireLength: UInt32($0.count), invariant: bits) }
        }
        #expect(try result("tcp port 80") == true)
        #expect(try result("tcp port 81") == false)
        #expect(try result("udp") == false)
        #expect(try result("ip6") == false)
        #expect(try result("host 10.0.0.2 and dst port 80") == true)
        #expect(try result("ip[0] & 0xf > 5") == false)
        #expect(try result("tcp[13] & 2 != 0") == nil)
        #expect(try result("ip[6:2] & 0x4000 != 0") == nil)
        #expect(try result("greater 60") == nil)
        #expect(try result("ether host 02:00:00:00:00:01") == nil)
        #expect(try result("tcp[20] = 1") == nil)   // payload: beyond the sure-to-be-present bytes
        // Nothing known: nothing settles.
        bits.reset()
        #expect(try result("tcp port 80") == nil)
    }
}
