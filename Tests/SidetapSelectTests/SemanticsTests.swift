import Foundation
import SidetapCore
import SidetapSelect
import Testing

/// First match wins, default reject, negation, flags, options, non-IP packets.
@Suite struct SemanticsTests {
    @Test func firstMatchWinsAndDefaultRejects() throws {
        let h = try Harness("""
            reject src 10.0.0.66
            accept tcp dport 80
            reject tcp
            accept src 10.0.0.0/8
            """)
        #expect(h.accepts(Frames.tcp4("10.0.0.5", 40000, "10.0.0.9", 80)))       // rule 2
        #expect(!h.accepts(Frames.tcp4("10.0.0.66", 40000, "10.0.0.9", 80)))     // rule 1 first
        #expect(!h.accepts(Frames.tcp4("10.0.0.5", 40000, "10.0.0.9", 22)))      // rule 3 before rule 4
        #expect(h.accepts(Frames.udp4("10.0.0.5", 5000, "8.8.8.8", 53)))         // rule 4
        #expect(!h.accepts(Frames.udp4("192.168.0.5", 5000, "8.8.8.8", 53)))     // no rule: reject
        let counters = h.selector.counters.ports[0]
        #expect(counters.rules.map(\.value) == [1, 1, 1, 1])
        #expect(counters.unmatched.value == 1)
        #expect(counters.accepted.value == 2)
    }

    @Test func emptyFileRejectsEverything() throws {
        let h = try Harness("# nothing here\n\n   \n")
        #expect(h.rules.ports[0].rules.isEmpty)
        #expect(!h.accepts(Frames.tcp4("10.0.0.5", 1, "10.0.0.9", 80)))
        #expect(!h.accepts(Frames.arp()))
    }

    @Test func notNegatesATerm() throws {
        let h = try Harness("accept tcp not dport 22 not src 10.9.0.0/16")
        #expect(h.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80)))
        #expect(!h.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 22)))
        #expect(!h.accepts(Frames.tcp4("10.9.1.1", 1000, "10.0.0.9", 80)))
        #expect(!h.accepts(Frames.udp4("10.0.0.5", 1000, "10.0.0.9", 80)))
        let n = try Harness("accept not tcp")
        #expect(n.accepts(Frames.udp4("10.0.0.5", 1000, "10.0.0.9", 80)))
        #expect(n.accepts(Frames.arp()))
        #expect(!n.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80)))
    }

    @Test func tcpFlagsSetAndClear() throws {
        let h = try Harness("accept flags syn,!ack\naccept flags rst")
        #expect(h.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x002)))     // SYN
        #expect(!h.accepts(Frames.tcp4("10.0.0.9", 80, "10.0.0.5", 1000, flags: 0x012)))    // SYN-ACK
        #expect(!h.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x010)))    // ACK
        #expect(h.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x014)))     // RST-ACK
        #expect(!h.accepts(Frames.udp4("10.0.0.5", 1000, "10.0.0.9", 80)))                  // not TCP
        let n = try Harness("accept not flags syn")
        #expect(n.accepts(Frames.udp4("10.0.0.5", 1000, "10.0.0.9", 80)))
        #expect(n.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x010)))
        #expect(!n.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x002)))
        // Same flow, different flags: per-packet rules are evaluated per packet even when cached.
        let c = try Harness("accept flags fin\nreject any")
        #expect(!c.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x010)))
        #expect(c.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x011)))
        #expect(!c.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, flags: 0x018)))
    }

    @Test func perPacketRuleBeforeFlowRuleOnTheSameFlow() throws {
        let h = try Harness("""
            reject pcap "greater 500"
            accept tcp dport 80 slice 100
            accept pcap "tcp"
            """)
        let small = Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, payload: 10)
        let large = Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 80, payload: 800)
        for _ in 0..<3 {
            #expect(h.accepts(small))
            #expect(h.selector.sliceLength(port: 0) == 100)
            #expect(!h.accepts(large))
        }
        // Rule 3 is after the flow rule that decides, so it never runs for port 80…
        #expect(h.selector.counters.ports[0].rules[2].value == 0)
        // …but decides other TCP flows.
        #expect(h.accepts(Frames.tcp4("10.0.0.5", 1000, "10.0.0.9", 443)))
        #expect(h.selector.sliceLength(port: 0) == UInt32.max)
        #expect(h.selector.counters.ports[0].rules.map(\.value) == [3, 3, 1])
    }

    @Test func protocolsAddressesAndPorts() throws {
        let h = try Harness([
            Support.port("v6", "accept ip6 dst 2001:db8::/32"),
            Support.port("icmp", "accept icmp"),
            Support.port("ports", "accept port 53,5000-5010"),
            Support.port("hosts", "accept host 8.8.8.8,9.9.9.9"),
            Support.port("proto", "accept proto 17"),
            Support.port("ip", "accept ip"),
        ])
        let v6 = h.select(Frames.tcp6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 1000, [0x2001, 0xdb8, 9, 0, 0, 0, 0, 2], 80))
        #expect(v6 == PortSet(rawValue: 0b000001))
        #expect(h.select(Frames.icmp4("10.0.0.1", "8.8.8.8")) == PortSet(rawValue: 0b101010))
        #expect(h.select(Frames.udp4("10.0.0.1", 5005, "1.1.1.1", 9999)) == PortSet(rawValue: 0b110100))
        #expect(h.select(Frames.udp4("9.9.9.9", 53, "10.0.0.1", 40000)) == PortSet(rawValue: 0b111100))
        #expect(h.select(Frames.tcp4("10.0.0.1", 5011, "1.1.1.1", 4999)) == PortSet(rawValue: 0b100000))
        // An IPv4 network never matches IPv6 traffic and vice versa.
        let all6 = try Harness("accept host ::/0")
        #expect(!all6.accepts(Frames.tcp4("10.0.0.1", 1, "10.0.0.2", 2)))
        #expect(all6.accepts(Frames.tcp6([0xfd00, 0, 0, 0, 0, 0, 0, 1], 1, [0xfd00, 0, 0, 0, 0, 0, 0, 2], 2)))
    }

    @Test func vlanDirectionSourceAndGuest() throws {
        let h = try Harness([
            Support.port("vlan", "accept vlan 100,200"),
            Support.port("untagged", "accept vlan none"),
            Support.port("out", "accept direction out"),
            Support.port("source", "accept source vnet1"),
            Support.port("guest", "accept guest web1"),
        ])
        let frame = Frames.tcp4("10.0.0.1", 1, "10.0.0.2", 2, vlans: [200])
        #expect(h.select(frame) == PortSet(rawValue: 0b10001))
        #expect(h.select(frame, sourceIndex: 1, direction: .outbound) == PortSet(rawValue: 0b01101))
        #expect(h.select(Frames.tcp4("10.0.0.1", 1, "10.0.0.2", 2, vlans: [300]), sourceIndex: 2) == PortSet(rawValue: 0b10000))
        #expect(h.select(Frames.tcp4("10.0.0.1", 1, "10.0.0.2", 2), sourceIndex: 1, direction: .inbound) == PortSet(rawValue: 0b01010))
    }

    @Test func nonIPPacketsStillMeetAnyVlanSourceAndPcapRules() throws {
        let h = try Harness([
            Support.port("any", "accept any"),
            Support.port("ipOnly", "accept src 0.0.0.0/0\naccept port 0-65535\naccept tcp"),
            Support.port("arp", "accept pcap \"arp\""),
            Support.port("source", "accept source vnet0 vlan none"),
            Support.port("notIP", "accept not ip not ip6"),
        ])
        #expect(h.select(Frames.arp()) == PortSet(rawValue: 0b11101))
    }

    @Test func slicesTakeTheSmallerOfPortAndRule() throws {
        let h = try Harness([
            Support.port("a", "accept udp slice 128\naccept tcp slice 2000\naccept any", slice: 512),
            Support.port("b", "accept udp slice 64\naccept any"),
        ])
        _ = h.select(Frames.udp4("10.0.0.1", 1, "10.0.0.2", 2))
        #expect(h.selector.sliceLength(port: 0) == 128)
        #expect(h.selector.sliceLength(port: 1) == 64)
        _ = h.select(Frames.tcp4("10.0.0.1", 1, "10.0.0.2", 2))
        #expect(h.selector.sliceLength(port: 0) == 512)
        #expect(h.selector.sliceLength(port: 1) == UInt32.max)
        _ = h.select(Frames.icmp4("10.0.0.1", "10.0.0.2"))
        #expect(h.selector.sliceLength(port: 0) == 512)
    }

    @Test func listsMayContinueAfterACommaAndBlank() throws {
        let h = try Harness("accept dport 22, 80,\t443 src 10.0.0.0/8, 192.168.0.0/16")
        #expect(h.accepts(Frames.tcp4("192.168.1.1", 1000, "10.0.0.1", 443)))
        #expect(h.accepts(Frames.tcp4("10.1.1.1", 1000, "10.0.0.1", 22)))
        #expect(!h.accepts(Frames.tcp4("172.16.1.1", 1000, "10.0.0.1", 22)))
    }

    @Test func reportShowsCachedAndPerPacketRules() throws {
        let h = try Harness([
            Support.port("waf", "accept tcp dport 80\naccept pcap \"tcp port 443\" slice 96\n", sample: 2, group: "g"),
            Support.port("waf2", "accept flags syn\naccept pcap \"tcp port 443\"\n", group: "g"),
        ])
        let report = h.rules.report()
        if ProcessInfo.processInfo.environment["SIDETAP_PRINT_REPORT"] != nil { print(report) }
        #expect(report.contains("port waf (waf.rules) sample 1/2 group g (member 1 of 2)"))
        #expect(report.contains("line 1: accept tcp dport 80  [flow-cached]"))
        #expect(report.contains("line 2: accept pcap \"tcp port 443\" slice 96  [per-packet: pcap #1"))
        #expect(report.contains("line 1: accept flags syn  [per-packet: tcp flags]"))
        #expect(report.contains("#1 \"tcp port 443\" used by 2 rules"))
        #expect(h.rules.ports[1].rules.map(\.perPacket) == [true, true])
    }
}
