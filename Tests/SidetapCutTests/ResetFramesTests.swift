import SidetapCore
import SidetapCut
import SidetapTraffic
import Testing

@Suite struct ResetFramesTests {
    static let clientMAC: UInt64 = 0x02_77_41_00_00_01
    static let serverMAC: UInt64 = 0x02_77_41_00_00_02

    static func flow(client: String = "10.77.41.1", server: String = "10.77.41.2", linkType: LinkType = .ethernet,
                     clientNext: UInt32? = 1_000_100, serverNext: UInt32? = 7_000_050, tags: [UInt16] = [],
                     ipProtocol: UInt8 = IPProtocolNumber.tcp) -> FlowSnapshot {
        let a = IPAddress(client)!
        let b = IPAddress(server)!
        let key = FlowKey(lowerAddress: min(a, b), upperAddress: max(a, b), lowerPort: a < b ? 40_000 : 80, upperPort: a < b ? 80 : 40_000,
                          ipProtocol: ipProtocol, vlan: tags.first ?? 0xFFFF)
        return FlowSnapshot(
            key: key,
            initiator: FlowEndpoint(address: a, port: 40_000, mac: clientMAC, packets: 3, bytes: 300, nextSequence: clientNext),
            responder: FlowEndpoint(address: b, port: 80, mac: serverMAC, packets: 2, bytes: 200, nextSequence: serverNext),
            firstSeenNanos: 1, lastSeenNanos: 2, sourceIndex: 0,
            source: SourceDescription(name: "lab", linkType: linkType, snaplen: 65_535, origin: "interface x", interface: "x"),
            linkType: linkType, vlanCount: UInt8(tags.count), outerVLAN: tags.first ?? 0, innerVLAN: tags.count > 1 ? tags[1] : 0)
    }

    /// The same RST made by the independent test frame builder (which computes its own checksums).
    static func expected(from: (String, UInt16, UInt64), to: (String, UInt16, UInt64), sequence: UInt32, ack: UInt32, tags: [VLANTag]) -> [UInt8] {
        let source = IPAddress(from.0)!
        let destination = IPAddress(to.0)!
        let tcp = FrameTransport.tcp(TCPHeader(sourcePort: from.1, destinationPort: to.1, sequence: sequence, acknowledgment: ack,
                                               flags: [.rst, .ack], window: 0))
        let network: FrameNetwork = source.isIPv4
            ? .ipv4(IPv4Header(source: source, destination: destination, timeToLive: 64, dontFragment: true))
            : .ipv6(IPv6Header(source: source, destination: destination, hopLimit: 64))
        return FrameBuilder(link: .ethernet(source: from.2, destination: to.2, tags: tags), network: network, transport: tcp).build().bytes
    }

    @Test(arguments: [
        ("10.77.41.1", "10.77.41.2", [UInt16]()),
        ("10.77.41.1", "10.77.41.2", [100]),
        ("10.77.41.2", "10.77.41.1", [100, 200]),
        ("fd77:41::1", "fd77:41::2", []),
        ("fd77:41::2", "fd77:41::1", [7]),
    ])
    func eachRSTCarriesWhatItsReceiverExpects(client: String, server: String, tags: [UInt16]) throws {
        let flow = Self.flow(client: client, server: server, tags: tags)
        let frames = try ResetFrames(flow)
        let vlanTags: [VLANTag] = tags.count == 2 ? [.dot1ad(tags[0]), .dot1Q(tags[1])] : tags.map { .dot1Q($0) }
        #expect(frames.sequenceToInitiator == 7_000_050 && frames.sequenceToResponder == 1_000_100)
        #expect(frames.towardInitiator == Self.expected(from: (server, 80, Self.serverMAC), to: (client, 40_000, Self.clientMAC),
                                                        sequence: 7_000_050, ack: 1_000_100, tags: vlanTags))
        #expect(frames.towardResponder == Self.expected(from: (client, 40_000, Self.clientMAC), to: (server, 80, Self.serverMAC),
                                                        sequence: 1_000_100, ack: 7_000_050, tags: vlanTags))
        // And the decoder reads them back as such.
        var decoded = DecodedPacket()
        frames.towardInitiator.withUnsafeBytes { PacketDecoder.decode($0, linkType: .ethernet, into: &decoded) }
        #expect(decoded.stop.isComplete)
        #expect(decoded.destination == IPAddress(client)! && decoded.destinationPort == 40_000)
        #expect(decoded.tcpFlags == [.rst, .ack] && decoded.tcpSequence == 7_000_050 && decoded.tcpAcknowledgment == 1_000_100)
        #expect(Int(decoded.vlanCount) == tags.count)
    }

    @Test func flowsThatCannotBeResetSayWhy() {
        func reason(_ flow: FlowSnapshot) -> String? {
            do throws(CutError) {
                _ = try ResetFrames(flow)
                return nil
            } catch {
                guard case .notResettable(let why) = error else { return "unexpected \(error)" }
                return why
            }
        }
        #expect(reason(Self.flow(ipProtocol: IPProtocolNumber.udp))?.contains("not a TCP connection") == true)
        #expect(reason(Self.flow(linkType: .linuxSLL))?.contains("no MAC addresses") == true)
        #expect(reason(Self.flow(linkType: .raw))?.contains("no MAC addresses") == true)
        #expect(reason(Self.flow(clientNext: nil))?.contains("10.77.41.1:40000") == true)
        #expect(reason(Self.flow(serverNext: nil))?.contains("10.77.41.2:80") == true)
        #expect(reason(Self.flow()) == nil)
    }

    @Test func aResetterNeedsALiveInterface() {
        var flow = Self.flow()
        flow.source.interface = nil
        #expect(throws: CutError.self) { try PacketSocketResetter().reset(flow) }
        flow.source.interface = "any"
        #expect(throws: CutError.self) { try PacketSocketResetter().reset(flow) }
    }
}
