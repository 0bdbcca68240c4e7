import SidetapCore
import SidetapTestKit
import Testing

@Suite("Decode: truncated and malformed input")
struct MalformedDecodeTests {
    /// Tagged Ethernet, IPv4 with 8 bytes of options, TCP with 12 bytes of options, payload.
    static let tcpFull = FrameBuilder(
        link: .ethernet(tags: [.dot1Q(100)]),
        network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.0.2.9"), options: [1, 1, 1, 1, 1, 1, 1, 0])),
        transport: .tcp(TCPHeader(sourcePort: 40000, destinationPort: 80, options: [.noOperation, .noOperation, .timestamps(value: 1, echoReply: 2)])),
        payload: Array(repeating: 0x41, count: 20)
    ).build()

    /// Every prefix of the frame decodes, stopping in the layer the cut falls in.
    @Test func everyPrefixOfTaggedIPv4TCP() {
        let full = Self.tcpFull
        #expect(full.networkOffset == 18 && full.transportOffset == 46 && full.payloadOffset == 78)
        for length in 0...full.bytes.count {
            let packet = decode(Array(full.bytes[0..<length]), .ethernet)
            let expected: (DecodeStop.Layer, DecodeStop.Reason)
            switch length {
            case ..<14: expected = (.link, .truncated)
            case ..<18: expected = (.vlan, .truncated)
            case ..<46: expected = (.ipv4, .truncated)
            case ..<78: expected = (.tcp, .truncated)
            default: expected = (.payload, .complete)
            }
            #expect(packet.stop.layer == expected.0, "prefix \(length): \(packet.stop)")
            #expect(packet.stop.reason == expected.1, "prefix \(length): \(packet.stop)")
            if length >= 46 { #expect(packet.source == ip("10.0.1.5")) }
        }
    }

    @Test func everyPrefixOfIPv6ExtensionChain() {
        let full = FrameBuilder(
            link: .linuxSLL2(packetType: 4),
            network: .ipv6(IPv6Header(
                source: ip("fd00:1::5"), destination: ip("fd00:2::9"),
                extensions: [.hopByHop(options: [5, 2, 0, 0]), .routing(), .destinationOptions(options: Array(repeating: 0, count: 14))])),
            transport: .udp(sourcePort: 1, destinationPort: 2), payload: [1, 2, 3, 4]
        ).build()
        // 20 SLL2 + 40 IPv6 = 60; hop-by-hop 60..<68, routing 68..<76, dest opts 76..<92, UDP 92..<100.
        #expect(full.transportOffset == 92)
        for length in 0...full.bytes.count {
            let packet = decode(Array(full.bytes[0..<length]), .linuxSLL2)
            let expected: (DecodeStop.Layer, DecodeStop.Reason)
            switch length {
            case ..<20: expected = (.link, .truncated)
            case ..<60: expected = (.ipv6, .truncated)
            case ..<92: expected = (.ipv6Extension, .truncated)
            case ..<100: expected = (.udp, .truncated)
            default: expected = (.payload, .complete)
            }
            #expect(packet.stop.layer == expected.0, "prefix \(length): \(packet.stop)")
            #expect(packet.stop.reason == expected.1, "prefix \(length): \(packet.stop)")
        }
    }

    @Test func everyPrefixOfEveryLinkTypeDecodesWithoutTrap() {
        let links: [FrameLink] = [.ethernet(tags: [.dot1ad(1), .dot1Q(2)]), .raw, .rawIPv4, .linuxSLL(), .linuxSLL2(), .null, .loop]
        for link in links {
            let full = FrameBuilder(
                link: link,
                network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.99.0.1"))),
                transport: .icmpEcho(), payload: Array(repeating: 0, count: 16)
            ).build()
            for length in 0..<full.bytes.count {
                let packet = decode(Array(full.bytes[0..<length]), full.linkType)
                #expect(!packet.stop.isComplete || packet.stop.layer == .payload, "\(full.linkType) prefix \(length)")
                #expect(packet.stop.reason != .malformed, "\(full.linkType) prefix \(length): \(packet.stop)")
            }
            #expect(full.decoded().stop.isComplete)
        }
    }

    @Test func badIPv4Version() {
        var frame = tcpFrame()
        frame.bytes[14] = 0x65
        let packet = frame.decoded()
        #expect(packet.stop == DecodeStop(layer: .ipv4, reason: .malformed, offset: 14))
        #expect(packet.ipVersion == 0)
    }

    @Test(arguments: [UInt8(0), 1, 4])
    func ipv4HeaderLengthBelowFive(ihl: UInt8) {
        var frame = tcpFrame()
        frame.bytes[14] = 0x40 | ihl
        #expect(frame.decoded().stop == DecodeStop(layer: .ipv4, reason: .malformed, offset: 14))
    }

    @Test func ipv4TotalLengthBelowHeaderLength() {
        var frame = tcpFrame()
        frame.bytes[16] = 0
        frame.bytes[17] = 19
        #expect(frame.decoded().stop == DecodeStop(layer: .ipv4, reason: .malformed, offset: 14))
    }

    @Test func ipv4TotalLengthTooShortForTCPHeaderIsMalformed() {
        // The datagram claims 20 + 10 bytes: its TCP header cannot fit, though more was captured.
        var frame = tcpFrame(payload: Array(repeating: 0, count: 30))
        frame.bytes[16] = 0
        frame.bytes[17] = 30
        let packet = frame.decoded()
        #expect(packet.stop.layer == .tcp)
        #expect(packet.stop.reason == .malformed)
    }

    @Test func ipv4ZeroTotalLengthUsesCapture() {
        // TSO-offloaded outgoing packets show a zero total length.
        var frame = tcpFrame(payload: Array(repeating: 0, count: 100))
        frame.bytes[16] = 0
        frame.bytes[17] = 0
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.networkEnd == frame.bytes.count)
    }

    @Test(arguments: [UInt8(0), 1, 4])
    func tcpDataOffsetBelowFive(dataOffset: UInt8) {
        var frame = tcpFrame()
        frame.bytes[34 + 12] = dataOffset << 4
        let packet = frame.decoded()
        #expect(packet.stop == DecodeStop(layer: .tcp, reason: .malformed, offset: 34))
    }

    @Test func tcpDataOffsetPastDatagramIsMalformed() {
        // Data offset 15 (60 bytes) in a datagram with a 20-byte TCP header and Ethernet padding.
        var frame = tcpFrame()
        frame.bytes[34 + 12] = 0xF0
        let packet = frame.decoded()
        #expect(packet.stop.layer == .tcp)
        #expect(packet.stop.reason == .malformed)
        // Cut by the capture instead: truncated.
        var cut = tcpFrame(payload: Array(repeating: 0, count: 60))
        cut.bytes[34 + 12] = 0xF0
        let short = decode(Array(cut.bytes[0..<70]), .ethernet)
        #expect(short.stop == DecodeStop(layer: .tcp, reason: .truncated, offset: 34))
    }

    @Test func ipv6ExtensionLengthPastDatagramEnd() {
        var frame = FrameBuilder(
            link: .rawIPv6,
            network: .ipv6(IPv6Header(source: ip("fd00::1"), destination: ip("fd00::2"), extensions: [.hopByHop()])),
            transport: .udp(sourcePort: 1, destinationPort: 2), payload: Array(repeating: 0, count: 40)
        ).build()
        frame.bytes[41] = 3                 // hop-by-hop claims 32 bytes
        frame.bytes[4] = 0
        frame.bytes[5] = 16                 // datagram holds only 16 bytes after the fixed header
        let packet = frame.decoded()
        #expect(packet.stop == DecodeStop(layer: .ipv6Extension, reason: .malformed, offset: 40))
        // The same header cut by the capture is truncated.
        frame.bytes[5] = 56
        let cut = decode(Array(frame.bytes[0..<60]), .ipv6)
        #expect(cut.stop == DecodeStop(layer: .ipv6Extension, reason: .truncated, offset: 40))
    }

    @Test func ipv6PayloadLengthShorterThanExtensionMinimumIsMalformed() {
        var frame = FrameBuilder(
            link: .rawIPv6,
            network: .ipv6(IPv6Header(source: ip("fd00::1"), destination: ip("fd00::2"), extensions: [.hopByHop()])),
            transport: .udp(sourcePort: 1, destinationPort: 2)
        ).build()
        frame.bytes[4] = 0
        frame.bytes[5] = 4
        #expect(frame.decoded().stop == DecodeStop(layer: .ipv6Extension, reason: .malformed, offset: 40))
    }

    @Test func ipv6BadVersion() {
        var frame = FrameBuilder(
            network: .ipv6(IPv6Header(source: ip("fd00::1"), destination: ip("fd00::2"))), transport: .udp(sourcePort: 1, destinationPort: 2)
        ).build()
        frame.bytes[14] = 0x40
        #expect(frame.decoded().stop == DecodeStop(layer: .ipv6, reason: .malformed, offset: 14))
    }

    @Test func ipv6ExtensionHeaderFlood() {
        let chain = Array(repeating: IPv6ExtensionHeader.destinationOptions(), count: PacketDecoder.maximumExtensionHeaders + 1)
        let frame = FrameBuilder(
            link: .rawIPv6,
            network: .ipv6(IPv6Header(source: ip("fd00::1"), destination: ip("fd00::2"), extensions: chain)),
            transport: .udp(sourcePort: 1, destinationPort: 2)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.layer == .ipv6Extension)
        #expect(packet.stop.reason == .malformed)
    }

    @Test func vlanTagFlood() {
        let tags = Array(repeating: VLANTag.dot1Q(5), count: 40)
        let frame = tcpFrame(link: .ethernet(tags: tags))
        let packet = frame.decoded()
        #expect(packet.stop.layer == .vlan)
        #expect(packet.stop.reason == .malformed)
        #expect(Int(packet.vlanCount) == PacketDecoder.maximumVLANTags)
        #expect(packet.networkOffset == -1)
        // The most tags allowed still decode.
        let allowed = tcpFrame(link: .ethernet(tags: Array(repeating: VLANTag.dot1Q(5), count: PacketDecoder.maximumVLANTags)))
        #expect(allowed.decoded().stop.isComplete)
    }

    @Test func randomBytesNeverTrap() {
        var random = SeededRandom(seed: 99)
        let links: [LinkType] = [.ethernet, .raw, .ipv4, .ipv6, .linuxSLL, .linuxSLL2, .null, .loop]
        var packet = DecodedPacket()
        for _ in 0..<20_000 {
            let base = Self.tcpFull.bytes
            var bytes = base
            // Flip a few bytes of a valid frame, then cut it somewhere.
            for _ in 0..<random.inRange(1...4) { bytes[random.below(bytes.count)] = UInt8(random.below(256)) }
            let cut = Array(bytes[0..<random.inRange(0...bytes.count)])
            let link = links[random.below(links.count)]
            cut.withUnsafeBytes { PacketDecoder.decode($0, linkType: link, into: &packet) }
            #expect(packet.stop.offset <= cut.count)
            #expect(packet.networkEnd <= cut.count)
        }
    }
}
