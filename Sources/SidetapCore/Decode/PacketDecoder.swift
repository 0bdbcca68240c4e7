/// Decodes link, network and transport headers of a captured packet into a `DecodedPacket`.
///
/// Every read is bounds-checked by the views; a truncated or malformed packet decodes as far
/// as it is valid and records where it stopped in `stop`. Nothing is allocated.
public enum PacketDecoder {
    /// Stop following VLAN tags after this many (a loop guard against tag floods).
    public static let maximumVLANTags = 8
    /// Stop following IPv6 extension headers after this many.
    public static let maximumExtensionHeaders = 16

    /// Decodes `bytes` captured with `linkType` into `packet` (which is reset first).
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer, linkType: LinkType, into packet: inout DecodedPacket) {
        packet = DecodedPacket()
        packet.linkType = linkType
        packet.networkEnd = bytes.count
        packet.datagramEnd = bytes.count
        switch linkType {
        case .ethernet:
            decodeEthernet(bytes, into: &packet)
        case .raw:
            decodeRawIP(bytes, offset: 0, into: &packet)
        case .ipv4:
            decodeIPv4(bytes, offset: 0, into: &packet)
        case .ipv6:
            decodeIPv6(bytes, offset: 0, into: &packet)
        case .linuxSLL:
            guard let sll = LinuxSLLView(bytes) else { return stop(&packet, .link, .truncated, 0) }
            packet.direction = PacketDirection(linuxPacketType: sll.packetType)
            decodeEtherType(sll.protocolType, bytes, offset: LinuxSLLView.headerLength, into: &packet)
        case .linuxSLL2:
            guard let sll = LinuxSLL2View(bytes) else { return stop(&packet, .link, .truncated, 0) }
            packet.direction = PacketDirection(linuxPacketType: UInt16(sll.packetType))
            decodeEtherType(sll.protocolType, bytes, offset: LinuxSLL2View.headerLength, into: &packet)
        case .null, .loop:
            guard bytes.count >= 4 else { return stop(&packet, .link, .truncated, 0) }
            // The address family is host order (NULL) or network order (LOOP); accept either.
            let raw = bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            let family = linkType == .loop ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
            let swapped = family.byteSwapped
            switch (family, swapped) {
            case (2, _), (_, 2): decodeIPv4(bytes, offset: 4, into: &packet)
            case (24, _), (28, _), (30, _), (_, 24), (_, 28), (_, 30): decodeIPv6(bytes, offset: 4, into: &packet)
            default: stop(&packet, .link, .unsupported, 4)
            }
        default:
            stop(&packet, .link, .unknownLinkType, 0)
        }
    }

    @inlinable
    static func stop(_ packet: inout DecodedPacket, _ layer: DecodeStop.Layer, _ reason: DecodeStop.Reason, _ offset: Int) {
        packet.stop = DecodeStop(layer: layer, reason: reason, offset: offset)
    }

    /// Why a header did not fit before `end`: the capture ended (truncated) or the
    /// datagram's own length field ended it first, with more bytes captured (malformed).
    @inlinable
    static func shortfall(_ end: Int, _ bytes: UnsafeRawBufferPointer) -> DecodeStop.Reason {
        end < bytes.count ? .malformed : .truncated
    }

    @inlinable
    static func decodeEthernet(_ bytes: UnsafeRawBufferPointer, into packet: inout DecodedPacket) {
        guard let ethernet = EthernetView(bytes) else { return stop(&packet, .link, .truncated, 0) }
        packet.destinationMAC = ethernet.destination
        packet.sourceMAC = ethernet.source
        decodeEtherType(ethernet.etherType, bytes, offset: EthernetView.headerLength, into: &packet)
    }

    /// Follows VLAN tags from `etherType` at `offset`, then decodes the network layer.
    @inlinable
    static func decodeEtherType(_ firstType: UInt16, _ bytes: UnsafeRawBufferPointer, offset start: Int, into packet: inout DecodedPacket) {
        var etherType = firstType
        var offset = start
        var tags = 0
        while VLANTagView.isTagType(etherType) {
            guard tags < maximumVLANTags else { return stop(&packet, .vlan, .malformed, offset) }
            guard let tag = VLANTagView(bytes.suffix(from: offset) ?? UnsafeRawBufferPointer(start: nil, count: 0)) else {
                packet.etherType = etherType
                return stop(&packet, .vlan, .truncated, offset)
            }
            if tags == 0 { packet.outerVLAN = tag.vlanID } else if tags == 1 { packet.innerVLAN = tag.vlanID }
            tags += 1
            packet.vlanCount = UInt8(min(tags, 255))
            etherType = tag.etherType
            offset += VLANTagView.tagLength
        }
        packet.etherType = etherType
        switch etherType {
        case 0x0800: decodeIPv4(bytes, offset: offset, into: &packet)
        case 0x86DD: decodeIPv6(bytes, offset: offset, into: &packet)
        default: stop(&packet, .payload, .unsupported, offset)
        }
    }

    @inlinable
    static func decodeRawIP(_ bytes: UnsafeRawBufferPointer, offset: Int, into packet: inout DecodedPacket) {
        guard let first = bytes.u8(at: offset) else { return stop(&packet, .ipv4, .truncated, offset) }
        switch first >> 4 {
        case 4: decodeIPv4(bytes, offset: offset, into: &packet)
        case 6: decodeIPv6(bytes, offset: offset, into: &packet)
        default: stop(&packet, .ipv4, .malformed, offset)
        }
    }

    @inlinable
    static func decodeIPv4(_ bytes: UnsafeRawBufferPointer, offset: Int, into packet: inout DecodedPacket) {
        if packet.etherType == 0 { packet.etherType = 0x0800 }
        guard let region = bytes.suffix(from: offset), let ip = IPv4View(region) else {
            return stop(&packet, .ipv4, .truncated, offset)
        }
        if let problem = ip.validate() { return stop(&packet, .ipv4, problem, offset) }
        packet.networkOffset = offset
        packet.ipVersion = 4
        packet.source = IPAddress(ipv4: ip.source)
        packet.destination = IPAddress(ipv4: ip.destination)
        packet.ipProtocol = ip.protocolNumber
        packet.hopLimit = ip.timeToLive
        packet.fragmentOffset = ip.fragmentOffset
        packet.moreFragments = ip.moreFragments
        packet.isFragment = ip.moreFragments || ip.fragmentOffset != 0
        // A zero total length is what TSO-offloaded outgoing packets show: use what was captured.
        let total = Int(ip.totalLength)
        let end = total == 0 ? bytes.count : min(bytes.count, offset + total)
        packet.networkEnd = end
        packet.datagramEnd = total == 0 ? end : offset + total
        let transport = offset + ip.headerLength
        if packet.fragmentOffset != 0 {
            return stop(&packet, .payload, .unsupported, transport)
        }
        decodeTransport(bytes, offset: transport, end: end, into: &packet)
    }

    @inlinable
    static func decodeIPv6(_ bytes: UnsafeRawBufferPointer, offset: Int, into packet: inout DecodedPacket) {
        if packet.etherType == 0 { packet.etherType = 0x86DD }
        guard let region = bytes.suffix(from: offset), let ip = IPv6View(region) else {
            return stop(&packet, .ipv6, .truncated, offset)
        }
        guard ip.version == 6 else { return stop(&packet, .ipv6, .malformed, offset) }
        packet.networkOffset = offset
        packet.ipVersion = 6
        packet.source = ip.source
        packet.destination = ip.destination
        packet.hopLimit = ip.hopLimit
        let payloadLength = Int(ip.payloadLength)
        // A zero payload length means a jumbogram or TSO: use what was captured.
        let end = payloadLength == 0 ? bytes.count : min(bytes.count, offset + IPv6View.headerLength + payloadLength)
        packet.networkEnd = end
        packet.datagramEnd = payloadLength == 0 ? end : offset + IPv6View.headerLength + payloadLength
        var next = ip.nextHeader
        var cursor = offset + IPv6View.headerLength
        var count = 0
        while IPv6ExtensionView.isExtension(next) {
            packet.ipProtocol = next
            guard count < maximumExtensionHeaders else { return stop(&packet, .ipv6Extension, .malformed, cursor) }
            guard cursor < end, let region = bytes.suffix(from: cursor),
                  let ext = IPv6ExtensionView(UnsafeRawBufferPointer(rebasing: region.prefix(end - cursor)), type: next)
            else { return stop(&packet, .ipv6Extension, shortfall(end, bytes), cursor) }
            if next == 44 {
                packet.isFragment = true
                packet.fragmentOffset = ext.fragmentOffset
                packet.moreFragments = ext.moreFragments
            }
            let length = ext.length
            next = ext.nextHeader
            count += 1
            if packet.isFragment && packet.fragmentOffset != 0 {
                packet.ipProtocol = next
                return stop(&packet, .payload, .unsupported, cursor + length)
            }
            guard cursor + length <= end else {
                return stop(&packet, .ipv6Extension, cursor + length <= bytes.count ? .malformed : .truncated, cursor)
            }
            cursor += length
        }
        packet.ipProtocol = next
        if next == IPProtocolNumber.noNextHeader {
            packet.payloadOffset = cursor
            return stop(&packet, .payload, .complete, cursor)
        }
        decodeTransport(bytes, offset: cursor, end: end, into: &packet)
    }

    /// Decodes TCP, UDP, ICMP or ICMPv6 between `offset` and `end` (the IP datagram's end).
    @inlinable
    static func decodeTransport(_ bytes: UnsafeRawBufferPointer, offset: Int, end: Int, into packet: inout DecodedPacket) {
        guard offset <= end else { return stop(&packet, .payload, .malformed, offset) }
        let region = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
        switch packet.ipProtocol {
        case IPProtocolNumber.tcp:
            guard let tcp = TCPView(region) else { return stop(&packet, .tcp, shortfall(end, bytes), offset) }
            packet.transportOffset = offset
            packet.sourcePort = tcp.sourcePort
            packet.destinationPort = tcp.destinationPort
            packet.tcpFlags = tcp.flags
            packet.tcpSequence = tcp.sequence
            packet.tcpAcknowledgment = tcp.acknowledgment
            packet.tcpWindow = tcp.window
            if let problem = tcp.validate() {
                return stop(&packet, .tcp, problem == .truncated ? shortfall(end, bytes) : problem, offset)
            }
            packet.payloadOffset = offset + tcp.headerLength
            stop(&packet, .payload, .complete, packet.payloadOffset)
        case IPProtocolNumber.udp:
            guard let udp = UDPView(region) else { return stop(&packet, .udp, shortfall(end, bytes), offset) }
            packet.transportOffset = offset
            packet.sourcePort = udp.sourcePort
            packet.destinationPort = udp.destinationPort
            if udp.length != 0 && udp.length < 8 { return stop(&packet, .udp, .malformed, offset) }
            packet.payloadOffset = offset + UDPView.headerLength
            stop(&packet, .payload, .complete, packet.payloadOffset)
        case IPProtocolNumber.icmp, IPProtocolNumber.icmpv6:
            let layer: DecodeStop.Layer = packet.ipProtocol == IPProtocolNumber.icmp ? .icmp : .icmpv6
            guard let icmp = ICMPView(region) else { return stop(&packet, layer, shortfall(end, bytes), offset) }
            packet.transportOffset = offset
            packet.icmpType = icmp.type
            packet.icmpCode = icmp.code
            packet.payloadOffset = min(end, offset + ICMPView.headerLength)
            stop(&packet, .payload, region.count >= ICMPView.headerLength ? .complete : shortfall(end, bytes), packet.payloadOffset)
        case IPProtocolNumber.sctp:
            // SCTP carries ports in its common header; enough for flow keys and port rules.
            guard region.count >= 12 else { return stop(&packet, .payload, shortfall(end, bytes), offset) }
            packet.transportOffset = offset
            packet.sourcePort = region.u16(at: 0)!
            packet.destinationPort = region.u16(at: 2)!
            packet.payloadOffset = offset + 12
            stop(&packet, .payload, .unsupported, offset + 12)
        default:
            stop(&packet, .payload, .unsupported, offset)
        }
    }
}
