/// Zero-copy view of an IPv4 header, options included.
public struct IPv4View {
    public static let minimumHeaderLength = 20
    public let bytes: UnsafeRawBufferPointer

    /// Nil when fewer than 20 bytes are captured. Use `validate()` for field checks.
    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.minimumHeaderLength else { return nil }
        self.bytes = bytes
    }

    @inlinable @inline(__always) public var version: UInt8 { bytes[0] >> 4 }
    /// Header length in bytes (IHL × 4), options included.
    @inlinable @inline(__always) public var headerLength: Int { Int(bytes[0] & 0x0F) * 4 }
    @inlinable @inline(__always) public var typeOfService: UInt8 { bytes[1] }
    @inlinable @inline(__always) public var totalLength: UInt16 { bytes.be16(2) }
    @inlinable @inline(__always) public var identification: UInt16 { bytes.be16(4) }
    @inlinable @inline(__always) public var dontFragment: Bool { bytes[6] & 0x40 != 0 }
    @inlinable @inline(__always) public var moreFragments: Bool { bytes[6] & 0x20 != 0 }
    /// Fragment offset in bytes.
    @inlinable @inline(__always) public var fragmentOffset: UInt16 { (bytes.be16(6) & 0x1FFF) &* 8 }
    @inlinable @inline(__always) public var timeToLive: UInt8 { bytes[8] }
    @inlinable @inline(__always) public var protocolNumber: UInt8 { bytes[9] }
    @inlinable @inline(__always) public var checksum: UInt16 { bytes.be16(10) }
    @inlinable @inline(__always) public var source: UInt32 { bytes.be32(12) }
    @inlinable @inline(__always) public var destination: UInt32 { bytes.be32(16) }
    /// The option bytes (empty when IHL is 5); nil when the options are not fully captured.
    @inlinable @inline(__always) public var options: UnsafeRawBufferPointer? {
        let length = headerLength
        guard length >= 20, length <= bytes.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[20..<length])
    }

    /// Checks version and header length against what was captured.
    @inlinable
    public func validate() -> DecodeStop.Reason? {
        if version != 4 { return .malformed }
        let length = headerLength
        if length < 20 { return .malformed }
        if length > bytes.count { return .truncated }
        let total = Int(totalLength)
        if total != 0 && total < length { return .malformed }
        return nil
    }
}

/// Zero-copy view of the fixed IPv6 header (40 bytes).
public struct IPv6View {
    public static let headerLength = 40
    public let bytes: UnsafeRawBufferPointer

    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.headerLength else { return nil }
        self.bytes = bytes
    }

    @inlinable @inline(__always) public var version: UInt8 { bytes[0] >> 4 }
    @inlinable @inline(__always) public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.be16(0) >> 4) }
    @inlinable @inline(__always) public var flowLabel: UInt32 { bytes.be32(0) & 0x000F_FFFF }
    @inlinable @inline(__always) public var payloadLength: UInt16 { bytes.be16(4) }
    @inlinable @inline(__always) public var nextHeader: UInt8 { bytes[6] }
    @inlinable @inline(__always) public var hopLimit: UInt8 { bytes[7] }
    @inlinable @inline(__always) public var source: IPAddress { IPAddress(high: bytes.be64(8), low: bytes.be64(16)) }
    @inlinable @inline(__always) public var destination: IPAddress { IPAddress(high: bytes.be64(24), low: bytes.be64(32)) }
}

/// Zero-copy view of one IPv6 extension header (hop-by-hop, routing, fragment, destination
/// options, authentication, mobility, HIP, shim6).
public struct IPv6ExtensionView {
    public let bytes: UnsafeRawBufferPointer
    public let headerType: UInt8

    /// Nil when the header's first 8 bytes (its minimum) are not captured.
    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer, type: UInt8) {
        guard bytes.count >= 8 else { return nil }
        self.bytes = bytes
        self.headerType = type
    }

    /// Extension header types this view understands.
    @inlinable
    public static func isExtension(_ type: UInt8) -> Bool {
        switch type {
        case 0, 43, 44, 51, 60, 135, 139, 140: true
        default: false
        }
    }

    @inlinable @inline(__always) public var nextHeader: UInt8 { bytes[0] }
    /// The header's length in bytes (AH counts 4-byte units, fragment is fixed at 8).
    @inlinable @inline(__always) public var length: Int {
        switch headerType {
        case 44: 8
        case 51: (Int(bytes[1]) + 2) * 4
        default: (Int(bytes[1]) + 1) * 8
        }
    }
    /// For a fragment header: offset in bytes.
    @inlinable @inline(__always) public var fragmentOffset: UInt16 { bytes.be16(2) & 0xFFF8 }
    /// For a fragment header: more fragments follow.
    @inlinable @inline(__always) public var moreFragments: Bool { bytes[3] & 0x01 != 0 }
    /// For a fragment header: identification.
    @inlinable @inline(__always) public var fragmentIdentification: UInt32 { bytes.be32(4) }
}
