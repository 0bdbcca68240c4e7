import SidetapCore
import SidetapTestKit
import Testing

@Suite("Decode: link layers")
struct LinkDecodeTests {
    @Test func ethernetUntagged() {
        let frame = tcpFrame(link: .ethernet(source: 0x02_11_22_33_44_55, destination: 0x02_AA_BB_CC_DD_EE))
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.stop.layer == .payload)
        #expect(packet.sourceMAC == 0x02_11_22_33_44_55)
        #expect(packet.destinationMAC == 0x02_AA_BB_CC_DD_EE)
        #expect(packet.etherType == 0x0800)
        #expect(packet.vlanCount == 0)
        #expect(packet.networkOffset == 14)
        #expect(packet.transportOffset == 34)
        #expect(frame.bytes.count == 60)       // padded to the Ethernet minimum
        #expect(packet.networkEnd == 54)       // padding is not part of the datagram
    }

    @Test func singleDot1QTag() {
        let frame = tcpFrame(link: .ethernet(tags: [.dot1Q(100, priority: 5)]))
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.vlanCount == 1)
        #expect(packet.outerVLAN == 100)
        #expect(packet.networkOffset == 18)
        #expect(packet.etherType == 0x0800)
        let tag = frame.bytes.withUnsafeBytes { VLANTagView(UnsafeRawBufferPointer(rebasing: $0[14...]))! }
        #expect(tag.priority == 5)
        #expect(tag.vlanID == 100)
    }

    @Test func qinqOuterAndInnerIDs() {
        let frame = tcpFrame(link: .ethernet(tags: [.dot1ad(3000), .dot1Q(42)]))
        #expect(frame.bytes[12] == 0x88 && frame.bytes[13] == 0xA8)
        #expect(frame.bytes[16] == 0x81 && frame.bytes[17] == 0x00)
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.vlanCount == 2)
        #expect(packet.outerVLAN == 3000)
        #expect(packet.innerVLAN == 42)
        #expect(packet.networkOffset == 22)
        #expect(packet.sourcePort == 40000)
    }

    @Test func legacy9100TagIsFollowed() {
        let frame = tcpFrame(link: .ethernet(tags: [VLANTag(id: 7, tpid: 0x9100), .dot1Q(8)]))
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.outerVLAN == 7 && packet.innerVLAN == 8)
    }

    @Test(arguments: [FrameLink.raw, .rawIPv4])
    func rawIPv4(link: FrameLink) {
        let frame = tcpFrame(link: link)
        #expect(frame.bytes.count == 40)
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.ipVersion == 4)
        #expect(packet.networkOffset == 0)
        #expect(packet.etherType == 0x0800)
        #expect(packet.source == ip("10.0.1.5"))
    }

    @Test(arguments: [FrameLink.raw, .rawIPv6])
    func rawIPv6(link: FrameLink) {
        let frame = FrameBuilder(
            link: link,
            network: .ipv6(IPv6Header(source: ip("fd00:1::5"), destination: ip("fd00:2::9"))),
            transport: .udp(sourcePort: 5353, destinationPort: 53)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.ipVersion == 6)
        #expect(packet.etherType == 0x86DD)
        #expect(packet.destination == ip("fd00:2::9"))
        #expect(packet.destinationPort == 53)
    }

    @Test func rawLinkTypeNumbers() {
        #expect(FrameLink.raw.linkType.rawValue == 101)
        #expect(FrameLink.rawIPv4.linkType.rawValue == 228)
        #expect(FrameLink.rawIPv6.linkType.rawValue == 229)
    }

    @Test func rawWithBadVersionNibbleIsMalformed() {
        var frame = tcpFrame(link: .raw)
        frame.bytes[0] = 0x55
        let packet = frame.decoded()
        #expect(packet.stop.reason == .malformed)
        #expect(packet.ipVersion == 0)
    }

    @Test(arguments: [(UInt16(0), PacketDirection.inbound), (1, .inbound), (2, .inbound), (3, .inbound), (4, .outbound), (7, .unknown)])
    func linuxSLLDirection(packetType: UInt16, direction: PacketDirection) {
        let frame = tcpFrame(link: .linuxSLL(packetType: packetType))
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.direction == direction)
        #expect(packet.networkOffset == 16)
        #expect(packet.destinationPort == 80)
    }

    @Test(arguments: [(UInt8(0), PacketDirection.inbound), (4, .outbound), (3, .inbound), (9, .unknown)])
    func linuxSLL2Direction(packetType: UInt8, direction: PacketDirection) {
        let frame = tcpFrame(link: .linuxSLL2(packetType: packetType, interfaceIndex: 7))
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.direction == direction)
        #expect(packet.networkOffset == 20)
        let view = frame.bytes.withUnsafeBytes { LinuxSLL2View($0)! }
        #expect(view.interfaceIndex == 7)
        #expect(view.protocolType == 0x0800)
    }

    @Test func linuxSLLWithVLANProtocol() {
        // A cooked capture of a tagged frame carries the tag after the SLL header.
        var frame = tcpFrame(link: .linuxSLL())
        frame.bytes.replaceSubrange(14..<16, with: [0x81, 0x00])
        frame.bytes.insert(contentsOf: [0x00, 0xC8, 0x08, 0x00], at: 16)
        let packet = decode(frame.bytes, .linuxSLL)
        #expect(packet.stop.isComplete)
        #expect(packet.outerVLAN == 200)
        #expect(packet.networkOffset == 20)
    }

    @Test func nullAndLoopFamilies() {
        let nullV4 = tcpFrame(link: .null)
        #expect(Array(nullV4.bytes[0..<4]) == [2, 0, 0, 0])
        let loopV4 = tcpFrame(link: .loop)
        #expect(Array(loopV4.bytes[0..<4]) == [0, 0, 0, 2])
        for frame in [nullV4, loopV4] {
            let packet = frame.decoded()
            #expect(packet.stop.isComplete)
            #expect(packet.ipVersion == 4)
            #expect(packet.networkOffset == 4)
        }
        for link in [FrameLink.null, .loop] {
            let v6 = FrameBuilder(
                link: link,
                network: .ipv6(IPv6Header(source: ip("fd00::1"), destination: ip("fd00::2"))),
                transport: .icmpv6Echo()
            ).build()
            let packet = v6.decoded()
            #expect(packet.stop.isComplete)
            #expect(packet.ipVersion == 6)
            #expect(packet.icmpType == 128)
        }
    }

    @Test func nullWithUnknownFamilyIsUnsupported() {
        var frame = tcpFrame(link: .null)
        frame.bytes[0] = 99
        let packet = frame.decoded()
        #expect(packet.stop.reason == .unsupported)
        #expect(packet.stop.layer == .link)
    }

    @Test func nonIPEtherTypeIsUnsupportedPayload() {
        let arp = FrameBuilder(network: .other(etherType: 0x0806), payload: Array(repeating: 1, count: 28)).build()
        let packet = arp.decoded()
        #expect(packet.stop.reason == .unsupported)
        #expect(packet.stop.layer == .payload)
        #expect(packet.etherType == 0x0806)
        #expect(packet.ipVersion == 0)
    }

    @Test func unknownLinkType() {
        let packet = decode(tcpFrame().bytes, LinkType(rawValue: 147))
        #expect(packet.stop.reason == .unknownLinkType)
    }
}
