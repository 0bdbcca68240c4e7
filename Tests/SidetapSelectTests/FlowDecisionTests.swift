import SidetapCore
import SidetapSelect
import Testing

/// Sampling and balancing keep flows whole and are pure functions of the symmetric hash; the
/// flow cache gives the same decisions as rule-by-rule evaluation.
@Suite struct FlowDecisionTests {
    /// A TCP conversation: client SYN, server SYN-ACK, client ACK, server data.
    static func conversation(_ i: Int) -> [[UInt8]] {
        let client = "10.\(1 + i % 3).\(i / 256 % 256).\(i % 256)"
        let server = "192.168.\(i % 7).\(1 + i % 11)"
        let port = UInt16(20_000 + i % 40_000)
        let dport: UInt16 = i % 4 == 0 ? 80 : 443
        return [
            Frames.tcp4(client, port, server, dport, flags: 0x002),
            Frames.tcp4(server, dport, client, port, flags: 0x012),
            Frames.tcp4(client, port, server, dport, flags: 0x010),
            Frames.tcp4(server, dport, client, port, flags: 0x018, payload: 100),
        ]
    }

    static let flowCount = 4000

    /// Per flow, the set of decisions its packets got (one element = the flow was kept whole).
    static func decisions(_ h: Harness, flows: Int = flowCount) -> [Set<UInt64>] {
        (0..<flows).map { i in Set(conversation(i).map { h.select($0).rawValue }) }
    }

    @Test func ruleSamplingKeepsFlowsWholeAndRoughlyOneInN() throws {
        let h = try Harness("accept tcp sample 1/4\naccept any")
        let flows = Self.decisions(h)
        #expect(flows.allSatisfy { $0.count == 1 }, "a flow was split")
        let kept = flows.filter { $0 == [1] }.count
        // A flow the sampled rule leaves out is rejected, not passed on to `accept any`.
        #expect(flows.filter { $0 == [0] }.count == Self.flowCount - kept)
        #expect(kept > Self.flowCount * 20 / 100 && kept < Self.flowCount * 30 / 100, "kept \(kept) of \(Self.flowCount)")
        #expect(h.selector.counters.ports[0].rules[0].value == UInt64(Self.flowCount * 4))
        #expect(h.selector.counters.ports[0].rules[1].value == 0)
    }

    @Test func portSamplingKeepsFlowsWhole() throws {
        let h = try Harness([Support.port("a", "accept any", sample: 5), Support.port("b", "accept any", sample: 5)])
        let flows = Self.decisions(h)
        #expect(flows.allSatisfy { $0.count == 1 })
        let keptA = flows.filter { $0.first! & 1 != 0 }.count
        let keptB = flows.filter { $0.first! & 2 != 0 }.count
        #expect(keptA > Self.flowCount * 15 / 100 && keptA < Self.flowCount * 25 / 100, "kept \(keptA)")
        // Ports have their own salts: the two samples are not the same flows.
        #expect(flows.filter { $0.first! == 3 }.count < keptA / 2)
        #expect(keptB > Self.flowCount * 15 / 100 && keptB < Self.flowCount * 25 / 100)
        let all = try Harness("accept any sample 1/1")
        #expect(Self.decisions(all, flows: 200).allSatisfy { $0 == [1] })
    }

    @Test func decisionsAreTheSameOnEverySelector() throws {
        let ports = [Support.port("a", "accept tcp sample 1/3"), Support.port("b", "accept any", group: "g"), Support.port("c", "accept any", group: "g")]
        let one = try Harness(ports), two = try Harness(ports, flowCacheSize: 0)
        #expect(Self.decisions(one, flows: 500) == Self.decisions(two, flows: 500))
    }

    @Test func balanceGroupSplitsFlowsEvenlyAndWhole() throws {
        let h = try Harness([
            Support.port("ids1", "accept any", group: "ids"),
            Support.port("ids2", "accept tcp", group: "ids"),
            Support.port("ids3", "accept any", group: "ids"),
            Support.port("archive", "accept any"),
            Support.port("web1", "accept dport 80\naccept sport 80", group: "web"),
            Support.port("web2", "accept any", group: "web"),
        ])
        let flows = Self.decisions(h)
        #expect(flows.allSatisfy { $0.count == 1 }, "a flow was split between members")
        var load = [0, 0, 0]
        var web = [0, 0]
        for (i, decision) in flows.enumerated() {
            let set = decision.first!
            let members = set & 0b111
            // Every packet goes to exactly one member of "ids" (all members accept TCP).
            #expect(members.nonzeroBitCount == 1)
            for m in 0..<3 where members & (1 << UInt64(m)) != 0 { load[m] += 1 }
            #expect(set & 0b1000 != 0)
            // "web": a member takes only what its own rules accept and the hash gives it.
            let webMembers = (set >> 4) & 0b11
            #expect(webMembers.nonzeroBitCount <= 1)
            if webMembers & 1 != 0 { web[0] += 1; #expect(i % 4 == 0, "web1 took a flow to port 443") }
            if webMembers & 2 != 0 { web[1] += 1 }
        }
        for m in 0..<3 {
            #expect(load[m] > Self.flowCount * 28 / 100 && load[m] < Self.flowCount * 39 / 100, "member \(m) took \(load[m])")
        }
        // web1 gets about half of the port-80 flows; web2 about half of all flows.
        #expect(web[0] > Self.flowCount / 4 * 40 / 100 && web[0] < Self.flowCount / 4 * 60 / 100, "web1 \(web[0])")
        #expect(web[1] > Self.flowCount * 40 / 100 && web[1] < Self.flowCount * 60 / 100, "web2 \(web[1])")
        let counters = h.selector.counters.ports
        #expect(counters[0].accepted.value + counters[1].accepted.value + counters[2].accepted.value == UInt64(Self.flowCount * 4))
    }

    @Test func balancingAndSamplingOnTheGeneratedCaptureKeepFlowsWhole() throws {
        let path = GeneratedTraffic.mixedPath
        let run = try select(path, [
            Support.port("a", "accept any", group: "g"),
            Support.port("b", "accept any", group: "g"),
            Support.port("s", "accept any sample 1/3"),
        ])
        var perFlow: [FlowKey: Set<UInt64>] = [:]
        for (i, key) in run.keys.enumerated() { perFlow[key, default: []].insert(run.decisions[i]) }
        #expect(perFlow.count > 80)
        #expect(perFlow.values.allSatisfy { $0.count == 1 })
        #expect(run.decisions.allSatisfy { ($0 & 0b11).nonzeroBitCount == 1 })
    }

    // MARK: Flow cache

    static let cacheRules = [
        Support.port("web", """
            reject pcap "greater 1000"
            accept tcp dport 80,443,8080 flags !rst slice 200
            accept ip6 flags syn
            reject src 10.1.0.0/16
            accept host 10.0.0.0/8 pcap "udp or icmp" slice 90
            """),
        Support.port("dns", "accept port 53\naccept udp vlan 100 sample 1/2\naccept icmp6"),
        Support.port("ids", "reject vlan 300\naccept not udp pcap \"ip[8] = 64 or ip6\"\naccept any", sample: 2, slice: 300),
        Support.port("east", "accept src 10.0.0.0/8 dst 10.0.0.0/8", group: "g"),
        Support.port("east2", "accept flags ack\naccept any", group: "g"),
    ]

    @discardableResult
    static func compareCachedWithUncached(_ path: String) throws -> SelectionRun {
        let (linkType, snaplen) = try Support.link(of: path)
        let rules = try CompiledRuleSet(ports: cacheRules, sources: [Support.source(for: path, linkType: linkType, snaplen: snaplen)])
        let uncached = Selector(rules, flowCacheSize: 0)
        let reference = try uncached.run(path)
        #expect(uncached.flowCacheCapacity == 0)
        for size in [65536, 16, 4] {
            let selector = Selector(rules, flowCacheSize: size)
            let run = try selector.run(path)
            // Second pass over a warm cache too.
            let again = try selector.run(path)
            #expect(run.decisions == reference.decisions, "\(path): cache \(size)")
            #expect(run.slices == reference.slices, "\(path): cache \(size) slices")
            #expect(again.decisions == reference.decisions, "\(path): warm cache \(size)")
            for p in rules.ports.indices {
                let a = selector.counters.ports[p], b = uncached.counters.ports[p]
                #expect(a.accepted.value == 2 * b.accepted.value)
                #expect(a.unmatched.value == 2 * b.unmatched.value)
                #expect(a.rules.map(\.value) == b.rules.map { 2 * $0.value }, "\(path): port \(p) rule counters")
            }
        }
        return reference
    }

    @Test func flowCacheMatchesUncachedOnGeneratedCaptures() throws {
        let mixed = try Self.compareCachedWithUncached(GeneratedTraffic.mixedPath)
        // Every port takes some packets and leaves some, so the comparison is not vacuous.
        #expect(mixed.accepted.allSatisfy { $0 > 0 && $0 < mixed.delivered }, "\(mixed.accepted)")
        try Self.compareCachedWithUncached(GeneratedTraffic.plainPath)
    }

    @Test(arguments: ["mptcp-v0.pcap", "afs.pcap", "resp_3_malicious.pcap", "forces3.pcap", "pim-packet-assortment.pcap"])
    func flowCacheMatchesUncachedOnCorpus(_ name: String) throws {
        try Self.compareCachedWithUncached(try Support.corpusFile(name))
    }

    @Test func cacheKeySeparatesSourcesAndDirections() throws {
        let h = try Harness([Support.port("s", "accept source vnet1"), Support.port("d", "accept direction in"), Support.port("g", "accept guest web1")])
        let frame = Frames.tcp4("10.0.0.1", 1000, "10.0.0.2", 80)
        for _ in 0..<2 {
            #expect(h.select(frame, sourceIndex: 0) == PortSet(rawValue: 0b100))
            #expect(h.select(frame, sourceIndex: 1) == PortSet(rawValue: 0b001))
            #expect(h.select(frame, sourceIndex: 1, direction: .inbound) == PortSet(rawValue: 0b011))
            #expect(h.select(frame, sourceIndex: 2, direction: .outbound) == PortSet(rawValue: 0b100))
        }
        // Both directions of a flow share a flow key but not a cache entry.
        let d = try Harness("accept src 10.0.0.1")
        for _ in 0..<2 {
            #expect(d.accepts(Frames.tcp4("10.0.0.1", 1000, "10.0.0.2", 80)))
            #expect(!d.accepts(Frames.tcp4("10.0.0.2", 80, "10.0.0.1", 1000)))
        }
    }

    @Test func portsWithManyPerPacketRulesAreEvaluatedWithoutCache() throws {
        let many = (0..<70).map { "reject flags syn pcap \"greater \($0 + 2000)\"" }.joined(separator: "\n") + "\naccept tcp\n"
        let h = try Harness([Support.port("many", many), Support.port("few", "accept tcp")])
        #expect(h.rules.ports[0].flowCached == false)
        #expect(h.rules.ports[1].flowCached == true)
        #expect(h.select(Frames.tcp4("10.0.0.1", 1, "10.0.0.2", 2)) == PortSet(rawValue: 0b11))
        #expect(h.select(Frames.tcp4("10.0.0.1", 1, "10.0.0.2", 2, flags: 0x002)) == PortSet(rawValue: 0b11))
        #expect(h.rules.report().contains("more than 64 per-packet rules"))
    }
}
