import SidetapCore

/// Classic pcap framing: a 24-byte global header, then a 16-byte header before each packet.
///
/// All fields are written little-endian (the native order of the hosts Sidetap runs on); the
/// magic number tells readers the order and the timestamp resolution (a1b23c4d nanoseconds,
/// a1b2c3d4 microseconds). Version 2.4.
public struct PcapFraming: Sendable, Hashable {
    /// Length of a global (file) header.
    public static let fileHeaderLength = 24
    /// Length of a record header.
    public static let recordHeaderLength = 16
    /// The snaplen written when the sources do not give a usable one.
    public static let defaultSnaplen: UInt32 = 262_144

    /// The one link type of every record.
    public let linkType: LinkType
    /// Largest captured length, as declared in the global header.
    public let snaplen: UInt32
    /// Timestamp resolution of the records.
    public let precision: TimestampPrecision

    public init(linkType: LinkType, snaplen: UInt32, precision: TimestampPrecision) {
        self.linkType = linkType
        self.snaplen = snaplen
        self.precision = precision
    }

    /// Framing for packets from `sources`; they must all have the same link type.
    ///
    /// The snaplen is the largest of the sources' snaplens (262144 when none is positive).
    /// Throws `PortSetupError.mixedLinkTypes` (suggesting pcapng) when link types differ.
    public init(port: String, sources: [SourceDescription], precision: TimestampPrecision) throws(PortSetupError) {
        guard let first = sources.first else { throw .noSources(port: port) }
        if sources.contains(where: { $0.linkType != first.linkType }) {
            throw .mixedLinkTypes(port: port, sources: sources.map(\.name), linkTypes: sources.map(\.linkType))
        }
        let largest = sources.map(\.snaplen).max() ?? 0
        let snaplen = largest > 0 ? UInt32(clamping: largest) : Self.defaultSnaplen
        self.init(linkType: first.linkType, snaplen: snaplen, precision: precision)
    }

    /// The 24-byte global header.
    public func fileHeader() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.fileHeaderLength)
        bytes.appendLE(precision == .nano ? UInt32(0xA1B2_3C4D) : UInt32(0xA1B2_C3D4))
        bytes.appendLE(UInt16(2))          // version_major
        bytes.appendLE(UInt16(4))          // version_minor
        bytes.appendLE(UInt32(0))          // thiszone (always 0)
        bytes.appendLE(UInt32(0))          // sigfigs (always 0)
        bytes.appendLE(snaplen)
        bytes.appendLE(UInt32(bitPattern: linkType.rawValue))
        return bytes
    }

    /// Bytes one record takes: header plus captured bytes.
    @inlinable
    public func recordLength(capturedLength: Int) -> Int {
        Self.recordHeaderLength + capturedLength
    }

    /// Writes the record header and the packet's bytes at `destination`, which must have room
    /// for `recordLength(capturedLength: packet.bytes.count)` bytes.
    ///
    /// The captured length is `packet.bytes.count`; the original length is
    /// `max(wireLength, bytes.count)`, so a sliced packet keeps caplen < len.
    @inlinable
    public func writeRecord(_ packet: OutboundPacket, to destination: UnsafeMutableRawPointer) {
        let captured = packet.bytes.count
        let (seconds, remainder) = splitNanos(packet.timestampNanos)
        let fraction = precision == .nano ? remainder : remainder / 1000
        destination.storeBytes(of: UInt32(truncatingIfNeeded: seconds).littleEndian, toByteOffset: 0, as: UInt32.self)
        destination.storeBytes(of: UInt32(truncatingIfNeeded: fraction).littleEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: UInt32(truncatingIfNeeded: captured).littleEndian, toByteOffset: 8, as: UInt32.self)
        let original = max(packet.wireLength, UInt32(truncatingIfNeeded: captured))
        destination.storeBytes(of: original.littleEndian, toByteOffset: 12, as: UInt32.self)
        if let source = packet.bytes.baseAddress, captured > 0 {
            (destination + Self.recordHeaderLength).copyMemory(from: source, byteCount: captured)
        }
    }
}

extension [UInt8] {
    /// Appends an integer in little-endian byte order.
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
