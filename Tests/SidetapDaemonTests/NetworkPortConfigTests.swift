import SidetapDaemon
import SidetapPorts
import Testing

/// The network port kinds in the config: what parses, with which defaults, and every mistake
/// reported with its line and reason.
@Suite struct NetworkPortConfigTests {
    let head = "sources:\n  - { name: s, file: a.pcap }\nports:\n"

    func parse(_ ports: String) throws -> [PortConfig] {
        try SidetapConfig.parse(head + ports, file: "n.yaml", baseDirectory: "/base").ports
    }

    func expectError(_ ports: String, line: Int = 4, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectConfigError(head + ports, file: "n.yaml", line: line, containing: text, sourceLocation: sourceLocation)
    }

    @Test func everyNetworkKindParsesWithItsDefaults() throws {
        let ports = try parse("""
              - { name: nic, kind: interface, interface: eth1, rules: r }
              - { name: vm, kind: tap, device: ids0, rules: r }
              - { name: vx, kind: vxlan, collector: 192.0.2.10, vni: 42, rules: r }
              - { name: vx6, kind: vxlan, collector: "2001:db8::10", port: 8472, vni: 7, source_port: 40000, rules: r }
              - { name: vxf, kind: vxlan, collector: ids.example.net, vni: 1, source_port: flow, rules: r }
              - { name: gre, kind: gre, collector: 192.0.2.11, rules: r }
              - { name: grek, kind: gre, collector: 192.0.2.11, key: 4294967295, sequence: true, rules: r }
              - { name: span, kind: erspan, collector: 192.0.2.12, session: 1023, index: 5, rules: r, rate: { pps: 1000 } }
            """)
        #expect(ports.map(\.kind) == [.interface, .tap, .vxlan, .vxlan, .vxlan, .gre, .gre, .erspan])
        #expect(ports[0].network == .interface("eth1"))
        #expect(ports[1].network == .tap(device: "ids0"))
        #expect(ports[2].network == .vxlan(collector: "192.0.2.10", port: 4789, vni: 42, sourcePort: nil))
        #expect(ports[3].network == .vxlan(collector: "2001:db8::10", port: 8472, vni: 7, sourcePort: 40000))
        #expect(ports[4].network == .vxlan(collector: "ids.example.net", port: 4789, vni: 1, sourcePort: nil))
        #expect(ports[5].network == .gre(collector: "192.0.2.11", key: nil, sequence: false))
        #expect(ports[6].network == .gre(collector: "192.0.2.11", key: 0xFFFF_FFFF, sequence: true))
        #expect(ports[7].network == .erspan(collector: "192.0.2.12", session: 1023, index: 5))
        #expect(ports[7].rate?.packetsPerSecond == 1000)
        #expect(ports.allSatisfy { $0.path == nil })
        #expect(ports[2].network?.collector == "192.0.2.10" && ports[0].network?.collector == nil)
    }

    @Test func missingRequiredKeys() {
        expectError("  - { name: p, kind: interface, rules: r }\n", containing: "an interface port needs 'interface'")
        expectError("  - { name: p, kind: tap, rules: r }\n", containing: "a tap port needs 'device'")
        expectError("  - { name: p, kind: vxlan, vni: 1, rules: r }\n", containing: "a vxlan port needs 'collector'")
        expectError("  - { name: p, kind: vxlan, collector: 192.0.2.1, rules: r }\n", containing: "a vxlan port needs 'vni'")
        expectError("  - { name: p, kind: gre, rules: r }\n", containing: "a gre port needs 'collector'")
        expectError("  - { name: p, kind: erspan, collector: 192.0.2.1, rules: r }\n", containing: "an erspan port needs 'session'")
    }

    @Test func outOfRangeAndMalformedValues() {
        expectError("  - { name: p, kind: vxlan, collector: 192.0.2.1, vni: 16777216, rules: r }\n",
                    containing: "vni must be between 0 and 16777215, got 16777216")
        expectError("  - { name: p, kind: vxlan, collector: 192.0.2.1, vni: 1, port: 0, rules: r }\n",
                    containing: "port must be between 1 and 65535")
        expectError("  - { name: p, kind: vxlan, collector: 192.0.2.1, vni: 1, source_port: random, rules: r }\n",
                    containing: "source_port must be 'flow'")
        expectError("  - { name: p, kind: erspan, collector: 192.0.2.1, session: 1024, rules: r }\n",
                    containing: "session must be between 0 and 1023, got 1024")
        expectError("  - { name: p, kind: erspan, collector: 192.0.2.1, session: 1, index: 1048576, rules: r }\n",
                    containing: "index must be between 0 and 1048575")
        expectError("  - { name: p, kind: gre, collector: 192.0.2.1, key: -1, rules: r }\n",
                    containing: "key must be between 0 and 4294967295")
        expectError("  - { name: p, kind: gre, collector: 192.0.2.1, sequence: maybe, rules: r }\n",
                    containing: "sequence must be one of true, false")
        expectError("  - { name: p, kind: gre, collector: 300.1.2.3, rules: r }\n",
                    containing: "collector must be an IPv4 or IPv6 address or a host name, got '300.1.2.3'")
        expectError("  - { name: p, kind: gre, collector: 'bad host!', rules: r }\n",
                    containing: "collector must be an IPv4 or IPv6 address or a host name")
        expectError("  - { name: p, kind: tap, device: averyveryverylongname, rules: r }\n",
                    containing: "device 'averyveryverylongname' is not an interface name")
        expectError("  - { name: p, kind: interface, interface: 'eth0/1', rules: r }\n",
                    containing: "interface 'eth0/1' is not an interface name")
    }

    @Test func keysOfAnotherKindAreRefusedAtTheirLine() {
        expectError("  - name: p\n    kind: gre\n    collector: 192.0.2.1\n    vni: 5\n    rules: r\n", line: 7,
                    containing: "'vni' applies to vxlan ports, not to a gre port")
        expectError("  - { name: p, kind: vxlan, collector: 192.0.2.1, vni: 1, session: 3, rules: r }\n",
                    containing: "'session' applies to erspan ports, not to a vxlan port")
        expectError("  - { name: p, kind: file, path: x.pcap, collector: 192.0.2.1, rules: r }\n",
                    containing: "'collector' applies to vxlan, gre, erspan ports, not to a file port")
        expectError("  - { name: p, kind: tap, device: t0, interface: eth0, rules: r }\n",
                    containing: "'interface' applies to interface ports, not to a tap port")
    }

    @Test func captureFileKeysDoNotApplyToNetworkPorts() {
        expectError("  - { name: p, kind: tap, device: t0, path: out.pcap, rules: r }\n",
                    containing: "a tap port sends frames on the network, not a capture file; 'path' does not apply")
        expectError("  - { name: p, kind: vxlan, collector: 192.0.2.1, vni: 1, format: pcapng, rules: r }\n",
                    containing: "'format' does not apply")
        expectError("  - { name: p, kind: interface, interface: eth1, rotate: { size: 1MiB }, rules: r }\n",
                    containing: "only file ports rotate")
    }
}
