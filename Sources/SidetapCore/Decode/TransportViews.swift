/// TCP header flags, including NS (the low bit of the data-offset byte).
public struct TCPFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    public static let ece = TCPFlags(rawValue: 0x040)
    public static let cwr = TCPFlags(rawValue: 0x080)
    public static let ns = TCPFlags(rawValue: 0x100)

    /// Flag names as the rules language spells them.
    public static let names: [(String, TCPFlags)] = [
        ("fin", .fin), ("syn", .syn), ("rst", .rst), ("psh", .psh), ("ack", .ack),
        ("urg", .urg), ("ece", .ece), ("cwr", .cwr), ("ns", .ns),
    ]
}

/// Zero-copy view of a TCP header, options included.
public struct TCPView {
    public static let minimumHeaderLength = 20
    public let bytes: UnsafeRawBufferPointer

    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.minimumHeaderLength else { return nil }
        self.bytes = bytes
    }

    @inlinable @inline(__always) public var sourcePort: UInt16 { bytes.be16(0) }
    @inlinable @inline(__always) public var destinationPort: UInt16 { bytes.be16(2) }
    @inlinable @inline(__always) public var sequence: UInt32 { bytes.be32(4) }
    @inlinable @inline(__always) public var acknowledgment: UInt32 { bytes.be32(8) }
    /// Header length in bytes (data offset × 4).
    @inlinable @inline(__always) public var headerLength: Int { Int(bytes[12] >> 4) * 4 }
    @inlinable @inline(__always) public var flags: TCPFlags { TCPFlags(rawValue: bytes.be16(12) & 0x01FF) }
    @inlinable @inline(__always) public var window: UInt16 { bytes.be16(14) }
    @inlinable @inline(__always) public var checksum: UInt16 { bytes.be16(16) }
    @inlinable @inline(__always) public var urgentPointer: UInt16 { bytes.be16(18) }

    /// Checks the data offset against what was captured.
    @inlinable
    public func validate() -> DecodeStop.Reason? {
        let length = headerLength
        if length < 20 { return .malformed }
        if length > bytes.count { return .truncated }
        return nil
    }
}

/// Zero-copy view of a UDP header (8 bytes).
public struct UDPView {
    public static let headerLength = 8
    public let bytes: UnsafeRawBufferPointer

    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.headerLength else { return nil }
        self.bytes = bytes
    }

    @inlinable @inline(__always) public var sourcePort: UInt16 { bytes.be16(0) }
    @inlinable @inline(__always) public var destinationPort: UInt16 { bytes.be16(2) }
    /// Length of header plus payload, as the header states it.
    @inlinable @inline(__always) public var length: UInt16 { bytes.be16(4) }
    @inlinable @inline(__always) public var checksum: UInt16 { bytes.be16(6) }
}

/// Zero-copy view of an ICMP or ICMPv6 header (type, code, checksum, 4 bytes of rest).
public struct ICMPView {
    public static let headerLength = 8
    public let bytes: UnsafeRawBufferPointer

    /// Nil when fewer than 4 bytes (type, code, checksum) are captured.
    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 4 else { return nil }
        self.bytes = bytes
    }

    @inlinable @inline(__always) public var type: UInt8 { bytes[0] }
    @inlinable @inline(__always) public var code: UInt8 { bytes[1] }
    @inlinable @inline(__always) public var checksum: UInt16 { bytes.be16(2) }
    /// Echo identifier (bytes 4–5), nil when not captured.
    @inlinable @inline(__always) public var identifier: UInt16? { bytes.u16(at: 4) }
    /// Echo sequence number (bytes 6–7), nil when not captured.
    @inlinable @inline(__always) public var sequenceNumber: UInt16? { bytes.u16(at: 6) }
}

/// IP protocol numbers the decoder and the rules language name.
public enum IPProtocolNumber {
    public static let icmp: UInt8 = 1
    public static let igmp: UInt8 = 2
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let gre: UInt8 = 47
    public static let esp: UInt8 = 50
    public static let ah: UInt8 = 51
    public static let icmpv6: UInt8 = 58
    public static let noNextHeader: UInt8 = 59
    public static let sctp: UInt8 = 132
}
