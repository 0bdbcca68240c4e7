import SidetapCore
import SidetapPorts
import Testing

/// The tunnel headers byte by byte, and the loop guard's match on decoded outer packets.
@Suite struct TunnelFramingTests {
    func header(_ body: (UnsafeMutableRawPointer) -> Int) -> [UInt8] {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 64)
        let length = body(buffer)
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }

    @Test func vxlanHeaderHasUDPPortsLengthIFlagAndVNI() {
        let bytes = header { TunnelFraming.vxlan(into: $0, sourcePort: 0xC001, destinationPort: 4789, vni: 0x12_3456, frameLength: 100) }
        #expect(bytes == [0xC0, 0x01, 0x12, 0xB5, 0x00, 0x74, 0x00, 0x00,    // UDP: ports, length 116, checksum 0
                          0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x00])   // VXLAN: I flag, VNI
        let masked = header { TunnelFraming.vxlan(into: $0, sourcePort: 1, destinationPort: 2, vni: 0xFF12_3456, frameLength: 0) }
        #expect(Array(masked[12..<16]) == [0x12, 0x34, 0x56, 0x00], "the VNI is 24 bits")
    }

    @Test func greHeaderCarriesKeyAndSequenceOnlyWhenAsked() {
        #expect(header { TunnelFraming.gre(into: $0, protocolType: 0x6558, key: nil, sequence: nil) } == [0, 0, 0x65, 0x58])
        #expect(header { TunnelFraming.gre(into: $0, protocolType: 0x6558, key: 0xDEAD_BEEF, sequence: nil) }
            == [0x20, 0, 0x65, 0x58, 0xDE, 0xAD, 0xBE, 0xEF])
        #expect(header { TunnelFraming.gre(into: $0, protocolType: 0x6558, key: nil, sequence: 7) }
            == [0x10, 0, 0x65, 0x58, 0, 0, 0, 7])
        #expect(header { TunnelFraming.gre(into: $0, protocolType: 0x6558, key: 1, sequence: 2) }
            == [0x30, 0, 0x65, 0x58, 0, 0, 0, 1, 0, 0, 0, 2])
    }

    @Test func erspanHeaderTakesVLANAndCoSFromTheTagAndMarksSlicedFrames() {
        let tagged: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0xA0 | 0x0F, 0xFE, 0x08, 0x00]   // PCP 5, VLAN 4094
        let bytes = tagged.withUnsafeBytes { frame in
            header { TunnelFraming.erspanII(into: $0, sequence: 0x0102_0304, session: 0x3FF, index: 0xABCDE, frame: frame, truncated: true) }
        }
        #expect(bytes == [0x10, 0x00, 0x88, 0xBE, 0x01, 0x02, 0x03, 0x04,     // GRE: S, 0x88BE, sequence
                          0x1F, 0xFE,                                         // version 1, VLAN 4094
                          0xBF, 0xFF,                                         // CoS 5, En 3, T, session 1023
                          0x00, 0x0A, 0xBC, 0xDE])                            // index
        let untagged: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0]
        let plain = untagged.withUnsafeBytes { frame in
            header { TunnelFraming.erspanII(into: $0, sequence: 0, session: 0x7FF, index: 0x1F_FFFF, frame: frame, truncated: false) }
        }
        #expect(Array(plain[8...]) == [0x10, 0x00, 0x03, 0xFF, 0x00, 0x0F, 0xFF, 0xFF], "untagged, session and index masked")
    }

    @Test func tunnelTrafficMatchesOnlyTheOuterPacketsOfItsTunnel() throws {
        let collector = try #require(IPAddress("10.77.9.2"))
        let vxlan = TunnelTraffic(ipProtocol: 17, collector: collector, destinationPort: 4789)
        let gre = TunnelTraffic(ipProtocol: 47, collector: collector)
        func packet(_ proto: UInt8, to destination: String, port: UInt16 = 0, fragment: Bool = false) -> DecodedPacket {
            var decoded = DecodedPacket()
            decoded.ipVersion = 4
            decoded.ipProtocol = proto
            decoded.destination = IPAddress(destination)!
            decoded.destinationPort = port
            decoded.isFragment = fragment
            return decoded
        }
        #expect(vxlan.matches(packet(17, to: "10.77.9.2", port: 4789)))
        #expect(!vxlan.matches(packet(17, to: "10.77.9.2", port: 53)))
        #expect(!vxlan.matches(packet(17, to: "10.77.9.3", port: 4789)))
        #expect(!vxlan.matches(packet(6, to: "10.77.9.2", port: 4789)))
        #expect(vxlan.matches(packet(17, to: "10.77.9.2", fragment: true)), "a later fragment has no ports")
        #expect(gre.matches(packet(47, to: "10.77.9.2")))
        #expect(!gre.matches(packet(17, to: "10.77.9.2", port: 4789)))
        #expect(!gre.matches(DecodedPacket()), "no IP layer, no match")
        #expect(vxlan.description == "udp to 10.77.9.2 port 4789")
    }

    @Test func portsDescribeTheirEgress() throws {
        let collector = try #require(IPAddress("fd77:9::2"))
        #expect(VXLANPort(name: "v", settings: VXLANPortSettings(collector: collector, vni: 1)).egress
            == PortEgress(port: "v", tunnel: TunnelTraffic(ipProtocol: 17, collector: collector, destinationPort: 4789)))
        #expect(GREPort(name: "g", settings: GREPortSettings(collector: collector)).egress?.tunnel
            == TunnelTraffic(ipProtocol: 47, collector: collector))
        #expect(ERSPANPort(name: "e", settings: ERSPANPortSettings(collector: collector, session: 1)).egress?.tunnel?.ipProtocol == 47)
        #expect(DiscardPort(name: "d").egress == nil)
    }

    @Test func collectorNamesResolveAndBadOnesFailWithThePortName() throws {
        #expect(try CollectorAddress.resolve("192.0.2.7", port: "p") == IPAddress("192.0.2.7"))
        #expect(try CollectorAddress.resolve("fd77::1", port: "p") == IPAddress("fd77::1"))
        #expect(try CollectorAddress.resolve("localhost", port: "p").description.hasSuffix("1"))
        #expect(throws: PortSetupError.self) { try CollectorAddress.resolve("no-such-host.invalid", port: "p") }
    }
}
