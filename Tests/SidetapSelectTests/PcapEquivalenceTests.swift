import Foundation
import SidetapCore
import SidetapSelect
import SidetapTestKit
import Testing

/// For a port whose rules are `accept pcap "EXPR"`, the selector accepts exactly the packets
/// `tcpdump -r FILE EXPR` prints.
@Suite struct PcapEquivalenceTests {
    /// Expressions for Ethernet captures (the generated ones use all of them).
    static let ethernetExpressions = [
        "tcp", "udp", "icmp", "icmp6", "ip6", "arp", "tcp port 80", "udp port 53",
        "tcp dst port 443 or tcp src port 443", "portrange 1000-30000", "src net 10.0.0.0/8",
        "dst host 8.8.8.8", "net 10.0.0.0/8 and not net 10.1.0.0/16",
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "tcp[tcpflags] & tcp-fin != 0",
        "greater 200", "less 100", "vlan", "vlan 100", "vlan and tcp", "vlan 300 and vlan 10",
        "ip[6:2] & 0x1fff != 0", "ip[8] = 64", "ether broadcast", "ip6 net 2001:db8::/32",
        "ip proto 47", "ip6 and tcp", "(tcp[12] & 0xf0) > 0x50", "udp and not port 53",
        "ether src 02:00:00:00:00:05", "icmp[icmptype] == icmp-echoreply", "tcp[tcpflags] & tcp-ece != 0",
    ]
    /// Expressions valid on any link type with IP (Ethernet, cooked, null, raw).
    static let ipExpressions = [
        "tcp", "udp", "icmp", "ip6", "tcp port 80", "udp port 53", "src net 10.0.0.0/8",
        "greater 200", "less 100", "portrange 1000-30000", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "ip and not tcp", "host 192.168.1.1",
    ]

    /// Expressions for raw IPv6 captures (IPv4 ones are rejected by libpcap there).
    static let ipv6Expressions = [
        "tcp", "udp", "icmp6", "ip6", "tcp port 80", "udp port 53", "greater 200", "less 100",
        "portrange 1000-30000", "ip6 net 2001:db8::/32", "ip6 and not icmp6", "ip6[6] == 135",
    ]

    static let corpusCases: [(String, [String])] = [
        ("mptcp-v0.pcap", ethernetExpressions),
        ("afs.pcap", ethernetExpressions),
        ("pim-packet-assortment.pcap", ethernetExpressions),
        ("various_gre.pcap", ethernetExpressions),
        ("edns-opts.pcap", ethernetExpressions),
        ("802.1ad_QinQ.pcap", ethernetExpressions),
        ("resp_3_malicious.pcap", ipExpressions),   // Linux cooked (SLL)
        ("ikev2four.pcap", ipExpressions),          // BSD loopback (NULL)
        ("ipv6_mobility_1.pcap", ipv6Expressions),  // raw IPv6
        ("babel_rtt.pcap", ipExpressions),          // raw IP
    ]

    static func check(_ path: String, _ expressions: [String]) throws {
        let ports = expressions.enumerated().map { Support.port("p\($0.offset)", "accept pcap \"\($0.element)\"\n") }
        let run = try select(path, ports)
        #expect(run.delivered == (try Support.tcpdumpCount(path, "")), "\(path): delivered")
        for (i, expression) in expressions.enumerated() {
            let expected = try Support.tcpdumpCount(path, expression)
            #expect(run.accepted[i] == expected, "\(path): '\(expression)' selected \(run.accepted[i]), tcpdump \(expected)")
        }
    }

    @Test func generatedMixedCapture() throws {
        try Self.check(GeneratedTraffic.mixedPath, Self.ethernetExpressions)
        // The generated capture is varied enough that each expression selects something,
        // and none selects everything (except where noted), so the comparison is meaningful.
        let run = try select(GeneratedTraffic.mixedPath, Self.ethernetExpressions.enumerated().map {
            Support.port("p\($0.offset)", "accept pcap \"\($0.element)\"")
        })
        #expect(run.delivered >= 300)
        for (i, expression) in Self.ethernetExpressions.enumerated() where expression != "ip proto 47" {
            #expect(run.accepted[i] > 0, "'\(expression)' selected nothing in the generated capture")
            #expect(run.accepted[i] < run.delivered, "'\(expression)' selected everything")
        }
    }

    /// The capture the project ships as its sample (what `sidetap run` with no config reads)
    /// and a larger one from the same generator.
    @Test(arguments: [0, 20_000])
    func projectGeneratorCapture(_ packets: Int) throws {
        let path = NSTemporaryDirectory() + "sidetap-select-generated-\(packets)-\(getpid()).pcap"
        defer { unlink(path) }
        let generator = packets == 0 ? TrafficGenerator.sample() : TrafficGenerator(seed: 99, packets: packets)
        _ = try generator.write(to: path)
        try Self.check(path, Self.ethernetExpressions)
    }

    @Test func generatedPlainCapture() throws {
        try Self.check(GeneratedTraffic.plainPath, Self.ethernetExpressions)
    }

    @Test(arguments: corpusCases.map(\.0))
    func corpusFile(_ name: String) throws {
        let expressions = Self.corpusCases.first { $0.0 == name }!.1
        try Self.check(try Support.corpusFile(name), expressions)
    }

    @Test func identicalExpressionsAreCompiledOnceAndShared() throws {
        let path = GeneratedTraffic.mixedPath
        let ports = [
            Support.port("a", "accept pcap \"tcp port 80\""),
            Support.port("b", "reject udp\naccept pcap \"tcp port 80\""),
            Support.port("c", "accept pcap \"tcp port 80\" slice 64\naccept pcap \"udp\""),
        ]
        let (linkType, snaplen) = try Support.link(of: path)
        let rules = try CompiledRuleSet(ports: ports, sources: [Support.source(for: path, linkType: linkType, snaplen: snaplen)])
        #expect(rules.pcapExpressions == ["tcp port 80", "udp"])
        let run = try Selector(rules).run(path)
        let http = try Support.tcpdumpCount(path, "tcp port 80")
        #expect(run.accepted[0] == http)
        #expect(run.accepted[1] == http)
        #expect(run.accepted[2] == http + (try Support.tcpdumpCount(path, "udp")))
    }
}
