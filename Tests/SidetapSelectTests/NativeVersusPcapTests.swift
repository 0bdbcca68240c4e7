import SidetapCore
import SidetapSelect
import Testing

/// Native matches accept the same packets as the equivalent pcap expression, where the two
/// mean the same thing (see docs/rules.md for where they differ: VLAN, IPv6 extension
/// headers, malformed headers, `host`/`net` without `ip` also matching ARP).
@Suite struct NativeVersusPcapTests {
    /// (native rule terms, equivalent pcap expression)
    static let pairs: [(String, String)] = [
        ("any", ""),
        ("tcp", "tcp"), ("udp", "udp"), ("icmp", "icmp"), ("icmp6", "icmp6"), ("ip", "ip"), ("ip6", "ip6"),
        ("tcp dport 80,443", "tcp dst port 80 or tcp dst port 443"),
        ("port 53", "port 53"),
        ("sport 1000-30000", "src portrange 1000-30000"),
        ("src 10.0.0.0/8", "ip src net 10.0.0.0/8"),
        ("host 8.8.8.8", "ip host 8.8.8.8"),
        ("dst 2001:db8::/32", "ip6 dst net 2001:db8::/32"),
        ("host 10.0.0.0/8 not host 10.1.0.0/16", "ip net 10.0.0.0/8 and not ip net 10.1.0.0/16"),
        ("ip flags syn,!ack", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"),
        ("ip flags fin", "tcp[tcpflags] & tcp-fin != 0"),
        ("ip flags ece,cwr", "tcp[tcpflags] & (tcp-ece|tcp-cwr) == (tcp-ece|tcp-cwr)"),
        ("proto 17", "ip proto 17 or ip6 proto 17"),
        ("not tcp", "not tcp"),
        ("udp not port 53", "udp and not port 53"),
        ("src 192.168.0.0/16,172.16.0.0/12 dport 1-1023", "(ip src net 192.168.0.0/16 or ip src net 172.16.0.0/12) and dst portrange 1-1023"),
    ]
    static let vlanPairs: [(String, String)] = [
        ("vlan 100", "vlan 100"), ("vlan 100,200", "vlan and (ether[14:2] & 0xfff == 100 or ether[14:2] & 0xfff == 200)"), ("vlan 300", "vlan 300"),
        ("vlan none", "not vlan"), ("not vlan none", "vlan"),
    ]
    static let directionPairs: [(String, String)] = [
        ("direction in", "inbound"), ("direction out", "outbound"), ("direction out tcp", "outbound and tcp"),
    ]

    static func compare(_ path: String, _ pairs: [(String, String)]) throws {
        var ports: [PortRules] = []
        for (i, (native, expression)) in pairs.enumerated() {
            ports.append(Support.port("native\(i)", "accept \(native)"))
            ports.append(Support.port("pcap\(i)", "accept pcap \"\(expression)\""))
        }
        let run = try select(path, ports)
        for (i, (native, expression)) in pairs.enumerated() {
            #expect(run.accepted[2 * i] == run.accepted[2 * i + 1],
                    "\(path): native '\(native)' accepted \(run.accepted[2 * i]), pcap '\(expression)' \(run.accepted[2 * i + 1])")
        }
        // The pcap side agrees with tcpdump, so both sides agree with tcpdump.
        let (native, expression) = pairs[1]
        #expect(run.accepted[3] == (try Support.tcpdumpCount(path, expression)), "\(path): '\(native)'")
    }

    @Test func generatedPlainCapture() throws {
        try Self.compare(GeneratedTraffic.plainPath, Self.pairs)
        // Make sure the pairs are not trivially equal (every rule selects something, none everything).
        let run = try select(GeneratedTraffic.plainPath, Self.pairs.map { Support.port("n\($0.0)", "accept \($0.0)") })
        for (i, pair) in Self.pairs.enumerated() where pair.0 != "any" && pair.0 != "ip flags ece,cwr" {
            #expect(run.accepted[i] > 0 && run.accepted[i] < run.delivered, "'\(pair.0)' selected \(run.accepted[i]) of \(run.delivered)")
        }
    }

    @Test func vlanMatchesOnTaggedTraffic() throws {
        try Self.compare(GeneratedTraffic.mixedPath, Self.vlanPairs)
        try Self.compare(try Support.corpusFile("802.1ad_QinQ.pcap"), Self.vlanPairs)
    }

    @Test(arguments: ["mptcp-v0.pcap", "afs.pcap", "ikev2four.pcap", "resp_3_malicious.pcap", "edns-opts.pcap", "forces2.pcap"])
    func corpusFile(_ name: String) throws {
        try Self.compare(try Support.corpusFile(name), Self.pairs)
    }

    @Test func directionOnLinuxCookedCapture() throws {
        let path = try Support.corpusFile("forces3.pcap")
        try Self.compare(path, Self.directionPairs)
        let run = try select(path, [Support.port("in", "accept direction in"), Support.port("out", "accept direction out")])
        #expect(run.accepted[0] > 0 && run.accepted[1] > 0)
    }

    /// Documented difference: native `tcp` sees through VLAN tags; pcap's `tcp` looks at the
    /// untagged EtherType only unless the expression says `vlan`.
    @Test func nativeProtocolMatchesSeeThroughVLANTags() throws {
        let path = GeneratedTraffic.mixedPath
        let run = try select(path, [
            Support.port("native", "accept tcp vlan none"),
            Support.port("pcap", "accept pcap \"tcp\""),
            Support.port("nativeTagged", "accept tcp not vlan none"),
            Support.port("pcapTagged", "accept pcap \"vlan and tcp\""),
        ])
        #expect(run.accepted[0] > 0 && run.accepted[2] > 0)
        // Untagged TCP without hop-by-hop headers is the same; tagged TCP only native sees as `tcp`.
        let nativeAll = try select(path, [Support.port("n", "accept tcp")]).accepted[0]
        #expect(nativeAll > run.accepted[1])
    }
}
