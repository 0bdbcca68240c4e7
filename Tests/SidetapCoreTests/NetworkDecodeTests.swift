import SidetapCore
import SidetapTestKit
import Testing

@Suite("Decode: IPv4 and IPv6")
struct NetworkDecodeTests {
    @Test func ipv4WithOptions() {
        // Record-route option (7), 11 bytes, padded to 12: IHL 8.
        let frame = FrameBuilder(
            network: .ipv4(IPv4Header(
                source: ip("10.0.1.5"), destination: ip("10.99.3.4"), timeToLive: 17, identification: 0xBEEF,
                dontFragment: true, options: [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0])),
            transport: .udp(sourcePort: 1000, destinationPort: 514), payload: [1, 2, 3]
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.transportOffset == 14 + 32)
        #expect(packet.hopLimit == 17)
        #expect(packet.destination == ip("10.99.3.4"))
        #expect(!packet.isFragment)
        let view = frame.bytes.withUnsafeBytes { IPv4View(UnsafeRawBufferPointer(rebasing: $0[14...]))! }
        #expect(view.headerLength == 32)
        #expect(view.options?.count == 12)
        #expect(view.dontFragment)
        #expect(view.identification == 0xBEEF)
        #expect(view.totalLength == 32 + 8 + 3)
        // The header checksum verifies: the sum over the header including it is 0.
        let sum = frame.bytes.withUnsafeBytes { InternetChecksum.compute(UnsafeRawBufferPointer(rebasing: $0[14..<46])) }
        #expect(sum == 0)
    }

    @Test func ipv4FirstFragmentKeepsPorts() {
        let frame = FrameBuilder(
            network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.0.2.6"), identification: 9, moreFragments: true)),
            transport: .udp(sourcePort: 4000, destinationPort: 53), payload: Array(repeating: 0xAB, count: 64)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.isFragment)
        #expect(packet.moreFragments)
        #expect(packet.fragmentOffset == 0)
        #expect(packet.sourcePort == 4000)
        #expect(packet.hasUDP)
    }

    @Test func ipv4LaterFragmentStopsBeforeTransport() {
        let frame = FrameBuilder(
            network: .ipv4(IPv4Header(
                source: ip("10.0.1.5"), destination: ip("10.0.2.6"), identification: 9, fragmentOffset: 1480,
                protocolNumber: IPProtocolNumber.udp)),
            transport: .none, payload: Array(repeating: 0xCD, count: 100)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.reason == .unsupported)
        #expect(packet.stop.layer == .payload)
        #expect(packet.stop.offset == 34)
        #expect(packet.isFragment)
        #expect(!packet.moreFragments)
        #expect(packet.fragmentOffset == 1480)
        #expect(packet.ipProtocol == IPProtocolNumber.udp)
        #expect(packet.transportOffset == -1)
        #expect(packet.sourcePort == 0)
    }

    @Test func ipv6ExtensionChainToTCP() {
        let frame = FrameBuilder(
            network: .ipv6(IPv6Header(
                source: ip("fd00:1::5"), destination: ip("fd00:2::9"), hopLimit: 33, flowLabel: 0xABCDE,
                extensions: [
                    .hopByHop(options: [5, 2, 0, 0]),          // router alert
                    .routing(routingType: 0, segmentsLeft: 0, data: [0, 0, 0, 0]),
                    .destinationOptions(options: [1, 10] + Array(repeating: 0, count: 10)),
                ])),
            transport: .tcp(TCPHeader(sourcePort: 50000, destinationPort: 443, sequence: 7, flags: [.syn])),
            payload: []
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.ipVersion == 6)
        #expect(packet.hopLimit == 33)
        #expect(packet.ipProtocol == IPProtocolNumber.tcp)
        // 14 Ethernet + 40 IPv6 + 8 hop-by-hop + 8 routing + 16 destination options.
        #expect(packet.transportOffset == 14 + 40 + 8 + 8 + 16)
        #expect(packet.destinationPort == 443)
        #expect(packet.tcpFlags == [.syn])
        #expect(!packet.isFragment)
        // Next-header chain as written: 0 → 43 → 60 → 6.
        #expect(frame.bytes[14 + 6] == 0)
        #expect(frame.bytes[54] == 43)
        #expect(frame.bytes[62] == 60)
        #expect(frame.bytes[70] == 6)
        let view = frame.bytes.withUnsafeBytes { IPv6View(UnsafeRawBufferPointer(rebasing: $0[14...]))! }
        #expect(view.flowLabel == 0xABCDE)
        #expect(Int(view.payloadLength) == frame.bytes.count - 54)
    }

    @Test func ipv6FirstFragmentDecodesTransport() {
        let frame = FrameBuilder(
            network: .ipv6(IPv6Header(
                source: ip("fd00:1::5"), destination: ip("fd00:99::1"),
                extensions: [.fragment(offset: 0, moreFragments: true, identification: 0x1234)])),
            transport: .udp(sourcePort: 33000, destinationPort: 4789), payload: Array(repeating: 0, count: 32)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.isFragment && packet.moreFragments)
        #expect(packet.fragmentOffset == 0)
        #expect(packet.destinationPort == 4789)
        let ext = frame.bytes.withUnsafeBytes { IPv6ExtensionView(UnsafeRawBufferPointer(rebasing: $0[54...]), type: 44)! }
        #expect(ext.fragmentIdentification == 0x1234)
        #expect(ext.length == 8)
    }

    @Test func ipv6LaterFragmentStops() {
        let frame = FrameBuilder(
            network: .ipv6(IPv6Header(
                source: ip("fd00:1::5"), destination: ip("fd00:99::1"),
                extensions: [.hopByHop(), .fragment(offset: 1232, moreFragments: false, identification: 5)])),
            transport: .other(protocolNumber: IPProtocolNumber.udp), payload: Array(repeating: 0, count: 40)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.reason == .unsupported)
        #expect(packet.stop.layer == .payload)
        #expect(packet.isFragment)
        #expect(packet.fragmentOffset == 1232)
        #expect(packet.ipProtocol == IPProtocolNumber.udp)
        #expect(packet.transportOffset == -1)
    }

    @Test func ipv6NoNextHeader() {
        let frame = FrameBuilder(
            network: .ipv6(IPv6Header(source: ip("fd00::1"), destination: ip("fd00::2"), extensions: [.destinationOptions()])),
            transport: .none
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.reason == .complete)
        #expect(packet.ipProtocol == IPProtocolNumber.noNextHeader)
        #expect(packet.payloadOffset == 14 + 40 + 8)
    }

    @Test func authenticationHeaderLengthCountsFourByteUnits() {
        // AH: next header, payload length in 4-byte units minus 2 → 24 bytes when 4.
        var bytes = FrameBuilder(
            link: .rawIPv6,
            network: .ipv6(IPv6Header(source: ip("fd00::1"), destination: ip("fd00::2"))),
            transport: .other(protocolNumber: 51),
            payload: [6, 4, 0, 0] + Array(repeating: 0, count: 20) + Array(repeating: 0, count: 20)
        ).build().bytes
        bytes[40 + 24 + 12] = 0x50                      // TCP data offset 5
        let packet = decode(bytes, .ipv6)
        #expect(packet.stop.isComplete)
        #expect(packet.transportOffset == 40 + 24)
    }
}
