import SidetapCore

/// Builds one frame by hand, layer by layer, with correct lengths and checksums.
///
/// ```swift
/// let frame = FrameBuilder(
///     link: .ethernet(tags: [.dot1Q(100)]),
///     network: .ipv4(IPv4Header(source: a, destination: b)),
///     transport: .tcp(TCPHeader(sourcePort: 40000, destinationPort: 80, flags: [.syn])),
///     payload: []
/// ).build()
/// ```
/// Upper-layer checksums cover what the frame carries, with the fixed header's destination
/// in the pseudo-header (right for unfragmented datagrams and routing headers with zero
/// segments left).
public struct FrameBuilder: Sendable {
    public var link: FrameLink
    public var network: FrameNetwork
    public var transport: FrameTransport
    public var payload: [UInt8]
    /// Pads Ethernet frames to the 60-byte minimum (without FCS), as a NIC would.
    public var padsToMinimum: Bool

    public init(
        link: FrameLink = .ethernet(), network: FrameNetwork, transport: FrameTransport = .none,
        payload: [UInt8] = [], padsToMinimum: Bool = true
    ) {
        self.link = link
        self.network = network
        self.transport = transport
        self.payload = payload
        self.padsToMinimum = padsToMinimum
    }

    /// The link type of the frames this builder makes.
    public var linkType: LinkType { link.linkType }

    /// Assembles the frame.
    public func build() -> BuiltFrame {
        var encoder = FrameEncoder(capacity: 128 + payload.count)
        let ipv4: Bool
        if case .ipv4 = network { ipv4 = true } else { ipv4 = false }
        writeLink(&encoder, ipv4: ipv4)
        let networkOffset = encoder.count
        var transportOffset = -1
        switch network {
        case .other:
            encoder.append(contentsOf: payload)
        case .ipv4(let header):
            let start = header.options.withUnsafeBytes { raw in
                encoder.beginIPv4(
                    source: header.source.ipv4Value, destination: header.destination.ipv4Value,
                    protocolNumber: header.protocolNumber ?? protocolNumber(ipv4: true),
                    timeToLive: header.timeToLive, typeOfService: header.typeOfService,
                    identification: header.identification, dontFragment: header.dontFragment,
                    moreFragments: header.moreFragments, fragmentOffset: header.fragmentOffset,
                    options: raw.isEmpty ? nil : raw)
            }
            transportOffset = writeTransport(&encoder, source: header.source, destination: header.destination, ipv4: true)
            encoder.finishIPv4(at: start)
        case .ipv6(let header):
            let upper = protocolNumber(ipv4: false)
            let first = header.extensions.first?.headerType ?? upper
            let start = encoder.beginIPv6(
                source: header.source, destination: header.destination, nextHeader: first,
                hopLimit: header.hopLimit, trafficClass: header.trafficClass, flowLabel: header.flowLabel)
            for (index, ext) in header.extensions.enumerated() {
                let next = index + 1 < header.extensions.count ? header.extensions[index + 1].headerType : upper
                Self.writeExtension(ext, next: next, into: &encoder)
            }
            transportOffset = writeTransport(&encoder, source: header.source, destination: header.destination, ipv4: false)
            encoder.finishIPv6(at: start)
        }
        let networkEnd = encoder.count
        if case .ethernet = link, padsToMinimum { encoder.pad(toMinimum: 60) }
        let payloadOffset = networkEnd - payload.count
        return BuiltFrame(
            bytes: encoder.bytes, linkType: linkType, networkOffset: networkOffset,
            transportOffset: transportOffset, payloadOffset: payloadOffset, networkEnd: networkEnd)
    }

    func protocolNumber(ipv4: Bool) -> UInt8 {
        switch transport {
        case .none: ipv4 ? 255 : IPProtocolNumber.noNextHeader
        case .tcp: IPProtocolNumber.tcp
        case .udp: IPProtocolNumber.udp
        case .icmpEcho: IPProtocolNumber.icmp
        case .icmpv6Echo: IPProtocolNumber.icmpv6
        case .other(let number): number
        }
    }

    func writeLink(_ encoder: inout FrameEncoder, ipv4: Bool) {
        let etherType = network.etherType
        switch link {
        case .ethernet(let source, let destination, let tags):
            encoder.ethernetAddresses(destination: destination, source: source)
            for tag in tags { encoder.vlanTag(tag) }
            encoder.etherType(etherType)
        case .raw, .rawIPv4, .rawIPv6:
            break
        case .linuxSLL(let packetType, let address):
            encoder.linuxSLL(packetType: packetType, address: address, protocolType: etherType)
        case .linuxSLL2(let packetType, let interfaceIndex, let address):
            encoder.linuxSLL2(packetType: packetType, interfaceIndex: interfaceIndex, address: address, protocolType: etherType)
        case .null:
            encoder.loopbackFamily(ipv4 ? 2 : 24, bigEndian: false)
        case .loop:
            encoder.loopbackFamily(ipv4 ? 2 : 24, bigEndian: true)
        }
    }

    /// Writes the transport header and payload, fills its checksum; returns its offset or -1.
    func writeTransport(_ encoder: inout FrameEncoder, source: IPAddress, destination: IPAddress, ipv4: Bool) -> Int {
        let pseudo = FrameEncoder.pseudoHeaderSum(source: source, destination: destination, ipv4: ipv4)
        let start: Int
        let kind: TransportKind
        switch transport {
        case .none, .other:
            encoder.append(contentsOf: payload)
            return -1
        case .tcp(let header):
            var options: [UInt8] = []
            for option in header.options { option.write(to: &options) }
            while options.count % 4 != 0 { options.append(0) }
            start = encoder.beginTCP(
                sourcePort: header.sourcePort, destinationPort: header.destinationPort,
                sequence: header.sequence, acknowledgment: header.acknowledgment, flags: header.flags,
                window: header.window, urgentPointer: header.urgentPointer, optionBytes: options.count)
            encoder.append(contentsOf: options)
            kind = .tcp
        case .udp(let sourcePort, let destinationPort):
            start = encoder.beginUDP(sourcePort: sourcePort, destinationPort: destinationPort)
            kind = .udp
        case .icmpEcho(let reply, let identifier, let sequence):
            start = encoder.beginICMP(type: reply ? 0 : 8, code: 0, identifier: identifier, sequence: sequence)
            kind = .icmp
        case .icmpv6Echo(let reply, let identifier, let sequence):
            start = encoder.beginICMP(type: reply ? 129 : 128, code: 0, identifier: identifier, sequence: sequence)
            kind = .icmpv6
        }
        encoder.append(contentsOf: payload)
        encoder.finishTransport(kind, at: start, pseudoHeader: kind == .icmp ? 0 : pseudo)
        return start
    }

    static func writeExtension(_ ext: IPv6ExtensionHeader, next: UInt8, into encoder: inout FrameEncoder) {
        var body: [UInt8]
        switch ext {
        case .hopByHop(let options), .destinationOptions(let options):
            body = options
            let padding = (8 - (2 + body.count) % 8) % 8
            if padding == 1 {
                body.append(0)                                  // Pad1
            } else if padding > 1 {
                body += [1, UInt8(padding - 2)] + Array(repeating: 0, count: padding - 2)  // PadN
            }
        case .routing(let routingType, let segmentsLeft, let data):
            body = [routingType, segmentsLeft] + data
            body += Array(repeating: 0, count: (8 - (2 + body.count) % 8) % 8)
        case .fragment(let offset, let moreFragments, let identification):
            let field = (offset & 0xFFF8) | (moreFragments ? 1 : 0)
            encoder.appendU8(next)
            encoder.appendU8(0)
            encoder.appendU16(field)
            encoder.appendU32(identification)
            return
        }
        encoder.appendU8(next)
        encoder.appendU8(UInt8(truncatingIfNeeded: (2 + body.count) / 8 - 1))
        encoder.append(contentsOf: body)
    }
}

/// A frame made by `FrameBuilder`, with the offsets of its layers.
public struct BuiltFrame: Sendable {
    public var bytes: [UInt8]
    public var linkType: LinkType
    /// Offset of the IP header (or of the payload after a non-IP link header).
    public var networkOffset: Int
    /// Offset of the transport header, -1 when none was written.
    public var transportOffset: Int
    /// Offset of the payload.
    public var payloadOffset: Int
    /// One past the last byte of the IP datagram (Ethernet padding follows).
    public var networkEnd: Int

    /// Decodes the frame with `PacketDecoder`.
    public func decoded() -> DecodedPacket {
        var packet = DecodedPacket()
        bytes.withUnsafeBytes { PacketDecoder.decode($0, linkType: linkType, into: &packet) }
        return packet
    }
}
