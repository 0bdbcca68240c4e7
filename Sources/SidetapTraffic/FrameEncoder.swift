import SidetapCore

/// Low-level frame assembly into one reusable byte buffer: append headers in wire order,
/// then patch lengths and checksums with the `finish…` calls (transport first, then IP).
///
/// `FrameBuilder` uses it for hand-built test frames; `TrafficGenerator` uses it directly so
/// that generating a packet allocates nothing once the buffer has grown.
public struct FrameEncoder: Sendable {
    /// The frame so far.
    public private(set) var bytes: [UInt8]

    /// An empty encoder whose buffer can hold `capacity` bytes without growing.
    public init(capacity: Int = 2048) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Number of bytes written.
    @inlinable public var count: Int { bytes.count }

    /// Forgets the frame, keeping the buffer.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    // MARK: Primitive writes (big-endian)

    public mutating func appendU8(_ value: UInt8) { bytes.append(value) }

    public mutating func appendU16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func appendU32(_ value: UInt32) {
        appendU16(UInt16(truncatingIfNeeded: value >> 16))
        appendU16(UInt16(truncatingIfNeeded: value))
    }

    public mutating func appendU64(_ value: UInt64) {
        appendU32(UInt32(truncatingIfNeeded: value >> 32))
        appendU32(UInt32(truncatingIfNeeded: value))
    }

    /// Appends a 48-bit MAC address held in the low bits of `value`.
    public mutating func appendMAC(_ value: UInt64) {
        appendU16(UInt16(truncatingIfNeeded: value >> 32))
        appendU32(UInt32(truncatingIfNeeded: value))
    }

    /// Appends an address: 4 bytes for an IPv4-mapped address when `asIPv4`, else 16.
    public mutating func appendAddress(_ address: IPAddress, asIPv4: Bool) {
        if asIPv4 {
            appendU32(address.ipv4Value)
        } else {
            appendU64(address.high)
            appendU64(address.low)
        }
    }

    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    public mutating func append(contentsOf other: some Sequence<UInt8>) {
        bytes.append(contentsOf: other)
    }

    public mutating func appendZeros(_ count: Int) {
        guard count > 0 else { return }
        bytes.append(contentsOf: repeatElement(0, count: count))
    }

    public mutating func setU8(_ value: UInt8, at offset: Int) { bytes[offset] = value }

    public mutating func setU16(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    public mutating func setU32(_ value: UInt32, at offset: Int) {
        setU16(UInt16(truncatingIfNeeded: value >> 16), at: offset)
        setU16(UInt16(truncatingIfNeeded: value), at: offset + 2)
    }

    // MARK: Link layer

    /// Destination and source MAC (12 bytes); follow with `vlanTag` calls and `etherType`.
    public mutating func ethernetAddresses(destination: UInt64, source: UInt64) {
        appendMAC(destination)
        appendMAC(source)
    }

    /// One VLAN tag: TPID, then PCP/DEI/VID.
    public mutating func vlanTag(_ tag: VLANTag) {
        appendU16(tag.tpid)
        appendU16(UInt16(tag.priority & 0x7) << 13 | (tag.dropEligible ? 0x1000 : 0) | (tag.id & 0x0FFF))
    }

    /// The EtherType that ends an Ethernet header (after any tags).
    public mutating func etherType(_ value: UInt16) { appendU16(value) }

    /// A Linux cooked capture v1 header (16 bytes) for an Ethernet interface.
    public mutating func linuxSLL(packetType: UInt16, address: UInt64, protocolType: UInt16) {
        appendU16(packetType)
        appendU16(1)          // ARPHRD_ETHER
        appendU16(6)          // link-layer address length
        appendMAC(address)
        appendU16(0)          // address padded to 8 bytes
        appendU16(protocolType)
    }

    /// A Linux cooked capture v2 header (20 bytes) for an Ethernet interface.
    public mutating func linuxSLL2(packetType: UInt8, interfaceIndex: UInt32, address: UInt64, protocolType: UInt16) {
        appendU16(protocolType)
        appendU16(0)          // reserved
        appendU32(interfaceIndex)
        appendU16(1)          // ARPHRD_ETHER
        appendU8(packetType)
        appendU8(6)
        appendMAC(address)
        appendU16(0)
    }

    /// A BSD loopback header: the address family, little-endian (NULL) or big-endian (LOOP).
    public mutating func loopbackFamily(_ family: UInt32, bigEndian: Bool) {
        if bigEndian {
            appendU32(family)
        } else {
            appendU32(family.byteSwapped)
        }
    }

    /// Pads the frame with zeros to `minimum` bytes (Ethernet: 60 without FCS).
    public mutating func pad(toMinimum minimum: Int) {
        appendZeros(minimum - bytes.count)
    }

    // MARK: Network layer

    /// Writes an IPv4 header with `options` (padded with end-of-list to 4 bytes); total
    /// length and checksum are filled in by `finishIPv4(at:)`. Returns the header's offset.
    @discardableResult
    public mutating func beginIPv4(
        source: UInt32, destination: UInt32, protocolNumber: UInt8, timeToLive: UInt8 = 64,
        typeOfService: UInt8 = 0, identification: UInt16 = 0, dontFragment: Bool = false,
        moreFragments: Bool = false, fragmentOffset: UInt16 = 0, options: UnsafeRawBufferPointer? = nil
    ) -> Int {
        let start = bytes.count
        let optionLength = options?.count ?? 0
        let paddedOptions = (optionLength + 3) & ~3
        appendU8(0x40 | UInt8((20 + paddedOptions) / 4 & 0x0F))
        appendU8(typeOfService)
        appendU16(0)          // total length, set by finishIPv4
        appendU16(identification)
        var flagsAndOffset = (fragmentOffset / 8) & 0x1FFF
        if dontFragment { flagsAndOffset |= 0x4000 }
        if moreFragments { flagsAndOffset |= 0x2000 }
        appendU16(flagsAndOffset)
        appendU8(timeToLive)
        appendU8(protocolNumber)
        appendU16(0)          // checksum, set by finishIPv4
        appendU32(source)
        appendU32(destination)
        if let options { append(options) }
        appendZeros(paddedOptions - optionLength)
        return start
    }

    /// Sets the IPv4 total length (to the end of the buffer) and the header checksum.
    public mutating func finishIPv4(at start: Int) {
        setU16(UInt16(truncatingIfNeeded: bytes.count - start), at: start + 2)
        let headerLength = Int(bytes[start] & 0x0F) * 4
        let checksum = bytes.withUnsafeBytes { raw in
            InternetChecksum.compute(UnsafeRawBufferPointer(rebasing: raw[start..<(start + headerLength)]))
        }
        setU16(checksum, at: start + 10)
    }

    /// Writes the fixed IPv6 header; the payload length is set by `finishIPv6(at:)`.
    @discardableResult
    public mutating func beginIPv6(
        source: IPAddress, destination: IPAddress, nextHeader: UInt8, hopLimit: UInt8 = 64,
        trafficClass: UInt8 = 0, flowLabel: UInt32 = 0
    ) -> Int {
        let start = bytes.count
        appendU32(6 << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0x000F_FFFF))
        appendU16(0)          // payload length, set by finishIPv6
        appendU8(nextHeader)
        appendU8(hopLimit)
        appendAddress(source, asIPv4: false)
        appendAddress(destination, asIPv4: false)
        return start
    }

    /// Sets the IPv6 payload length (to the end of the buffer).
    public mutating func finishIPv6(at start: Int) {
        setU16(UInt16(truncatingIfNeeded: bytes.count - start - 40), at: start + 4)
    }

    // MARK: Transport layer

    /// Writes a TCP header; `optionBytes` of options must follow (a multiple of 4, written by
    /// the caller). The checksum is set by `finishTransport`. Returns the header's offset.
    @discardableResult
    public mutating func beginTCP(
        sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, acknowledgment: UInt32,
        flags: TCPFlags, window: UInt16, urgentPointer: UInt16 = 0, optionBytes: Int = 0
    ) -> Int {
        let start = bytes.count
        appendU16(sourcePort)
        appendU16(destinationPort)
        appendU32(sequence)
        appendU32(acknowledgment)
        let dataOffset = UInt16((20 + optionBytes) / 4 & 0x0F)
        appendU16(dataOffset << 12 | (flags.rawValue & 0x01FF))
        appendU16(window)
        appendU16(0)          // checksum
        appendU16(urgentPointer)
        return start
    }

    /// Writes a UDP header; length and checksum are set by `finishTransport`.
    @discardableResult
    public mutating func beginUDP(sourcePort: UInt16, destinationPort: UInt16) -> Int {
        let start = bytes.count
        appendU16(sourcePort)
        appendU16(destinationPort)
        appendU32(0)
        return start
    }

    /// Writes an ICMP or ICMPv6 header with an echo identifier and sequence number.
    @discardableResult
    public mutating func beginICMP(type: UInt8, code: UInt8, identifier: UInt16, sequence: UInt16) -> Int {
        let start = bytes.count
        appendU8(type)
        appendU8(code)
        appendU16(0)
        appendU16(identifier)
        appendU16(sequence)
        return start
    }

    /// Fills in the length (UDP) and checksum of the transport header at `start`, covering
    /// everything to the end of the buffer. `pseudoHeader` is the unfolded sum of the
    /// addresses (`pseudoHeaderSum`); ICMPv4 takes none.
    public mutating func finishTransport(_ kind: TransportKind, at start: Int, pseudoHeader: UInt64) {
        let length = bytes.count - start
        if kind == .udp { setU16(UInt16(truncatingIfNeeded: length), at: start + 4) }
        var sum = pseudoHeader
        if kind != .icmp {
            sum &+= UInt64(length) &+ UInt64(kind.protocolNumber)
        }
        let checksum = bytes.withUnsafeBytes { raw in
            InternetChecksum.finish(InternetChecksum.add(UnsafeRawBufferPointer(rebasing: raw[start...]), to: sum))
        }
        // UDP sends a computed zero as all ones (zero means "no checksum").
        setU16(kind == .udp && checksum == 0 ? 0xFFFF : checksum, at: start + kind.checksumOffset)
    }

    /// The unfolded checksum sum of the source and destination addresses of a pseudo-header
    /// (4 bytes each for IPv4, 16 for IPv6); `finishTransport` adds length and protocol.
    public static func pseudoHeaderSum(source: IPAddress, destination: IPAddress, ipv4: Bool) -> UInt64 {
        func words(_ value: UInt64) -> UInt64 { (value >> 32) + (value & 0xFFFF_FFFF) }
        if ipv4 {
            return UInt64(source.ipv4Value) + UInt64(destination.ipv4Value)
        }
        return words(source.high) + words(source.low) + words(destination.high) + words(destination.low)
    }
}

/// Transport headers whose checksum `FrameEncoder.finishTransport` computes.
public enum TransportKind: Sendable, Hashable {
    case tcp, udp, icmp, icmpv6

    /// The IP protocol number.
    public var protocolNumber: UInt8 {
        switch self {
        case .tcp: IPProtocolNumber.tcp
        case .udp: IPProtocolNumber.udp
        case .icmp: IPProtocolNumber.icmp
        case .icmpv6: IPProtocolNumber.icmpv6
        }
    }

    /// Offset of the checksum field in the header.
    public var checksumOffset: Int {
        switch self {
        case .tcp: 16
        case .udp: 6
        case .icmp, .icmpv6: 2
        }
    }
}
