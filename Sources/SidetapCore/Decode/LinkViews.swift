/// Zero-copy view of an Ethernet II header (14 bytes).
public struct EthernetView {
    public static let headerLength = 14
    public let bytes: UnsafeRawBufferPointer

    /// Nil when fewer than 14 bytes are captured.
    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.headerLength else { return nil }
        self.bytes = bytes
    }

    /// Destination MAC as a 48-bit integer.
    @inlinable @inline(__always) public var destination: UInt64 { UInt64(bytes.be16(0)) << 32 | UInt64(bytes.be32(2)) }
    /// Source MAC as a 48-bit integer.
    @inlinable @inline(__always) public var source: UInt64 { UInt64(bytes.be16(6)) << 32 | UInt64(bytes.be32(8)) }
    /// EtherType (or 802.3 length when ≤ 1500).
    @inlinable @inline(__always) public var etherType: UInt16 { bytes.be16(12) }
}

/// Zero-copy view of one 802.1Q / 802.1ad tag (4 bytes after the tag's TPID).
public struct VLANTagView {
    public static let tagLength = 4
    public let bytes: UnsafeRawBufferPointer

    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.tagLength else { return nil }
        self.bytes = bytes
    }

    /// Priority code point (3 bits).
    @inlinable @inline(__always) public var priority: UInt8 { UInt8(bytes.be16(0) >> 13) }
    /// VLAN identifier (12 bits).
    @inlinable @inline(__always) public var vlanID: UInt16 { bytes.be16(0) & 0x0FFF }
    /// The EtherType that follows the tag.
    @inlinable @inline(__always) public var etherType: UInt16 { bytes.be16(2) }

    /// TPIDs that introduce a VLAN tag: 802.1Q, 802.1ad (QinQ outer), and the old 0x9100.
    @inlinable
    public static func isTagType(_ etherType: UInt16) -> Bool {
        etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100
    }
}

/// Zero-copy view of a Linux cooked capture v1 header (16 bytes).
public struct LinuxSLLView {
    public static let headerLength = 16
    public let bytes: UnsafeRawBufferPointer

    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.headerLength else { return nil }
        self.bytes = bytes
    }

    /// Packet type: 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us.
    @inlinable @inline(__always) public var packetType: UInt16 { bytes.be16(0) }
    /// ARPHRD_ type of the interface.
    @inlinable @inline(__always) public var hardwareType: UInt16 { bytes.be16(2) }
    /// Protocol (EtherType for Ethernet-like interfaces).
    @inlinable @inline(__always) public var protocolType: UInt16 { bytes.be16(14) }
}

/// Zero-copy view of a Linux cooked capture v2 header (20 bytes).
public struct LinuxSLL2View {
    public static let headerLength = 20
    public let bytes: UnsafeRawBufferPointer

    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.headerLength else { return nil }
        self.bytes = bytes
    }

    /// Protocol (EtherType for Ethernet-like interfaces).
    @inlinable @inline(__always) public var protocolType: UInt16 { bytes.be16(0) }
    /// Interface index the packet was captured on.
    @inlinable @inline(__always) public var interfaceIndex: UInt32 { bytes.be32(4) }
    /// ARPHRD_ type of the interface.
    @inlinable @inline(__always) public var hardwareType: UInt16 { bytes.be16(8) }
    /// Packet type, as in SLL v1.
    @inlinable @inline(__always) public var packetType: UInt8 { bytes[10] }
}

extension PacketDirection {
    /// Direction from a Linux packet type (PACKET_HOST … PACKET_OUTGOING).
    @inlinable
    public init(linuxPacketType type: UInt16) {
        switch type {
        case 0, 1, 2, 3: self = .inbound
        case 4: self = .outbound
        default: self = .unknown
        }
    }
}
