import SidetapCore

/// pcapng framing: a Section Header Block, one Interface Description Block per source, then
/// one Enhanced Packet Block per packet (interface id = the packet's `sourceIndex`).
///
/// Blocks are written little-endian (byte-order magic 1A2B3C4D). The section carries
/// `shb_userappl` "Sidetap" and optional `shb_comment`s; each interface carries `if_name`
/// (the source's name), `if_description` (its origin and guest), `if_tsresol` (9 or 6) and the
/// source's link type and snaplen. Every option list ends with `opt_endofopt`.
public struct PcapngFraming: Sendable, Hashable {
    /// Bytes an Enhanced Packet Block adds around the (padded) packet bytes.
    public static let enhancedPacketOverhead = 32
    /// The application name written as `shb_userappl`.
    public static let applicationName = "Sidetap"

    /// The interfaces, in `sourceIndex` order.
    public let sources: [SourceDescription]
    /// Timestamp resolution of every interface.
    public let precision: TimestampPrecision
    /// The section comments, each written as one `shb_comment` option (empty ones are skipped).
    public let sectionComments: [String]

    /// The first section comment, if any.
    public var sectionComment: String? { sectionComments.first }

    /// Framing for packets from `sources` (at least one; link types may differ).
    public init(
        port: String, sources: [SourceDescription], precision: TimestampPrecision, sectionComment: String? = nil
    ) throws(PortSetupError) {
        try self.init(port: port, sources: sources, precision: precision, sectionComments: sectionComment.map { [$0] } ?? [])
    }

    /// Framing whose section header carries every one of `sectionComments`.
    public init(
        port: String, sources: [SourceDescription], precision: TimestampPrecision, sectionComments: [String]
    ) throws(PortSetupError) {
        guard !sources.isEmpty else { throw .noSources(port: port) }
        self.sources = sources
        self.precision = precision
        self.sectionComments = sectionComments
    }

    /// The Section Header Block followed by one Interface Description Block per source.
    public func fileHeader() -> [UInt8] {
        var header = Self.block(type: 0x0A0D_0D0A) { body in
            body.appendLE(UInt32(0x1A2B_3C4D))   // byte-order magic
            body.appendLE(UInt16(1))             // major version
            body.appendLE(UInt16(0))             // minor version
            body.appendLE(Int64(-1))             // section length: not given
            for comment in sectionComments where !comment.isEmpty {
                body.appendOption(code: 1, string: comment)             // shb_comment
            }
            body.appendOption(code: 4, string: Self.applicationName)   // shb_userappl
            body.appendEndOfOptions()
        }
        for source in sources {
            header += Self.block(type: 0x0000_0001) { body in
                body.appendLE(UInt16(truncatingIfNeeded: source.linkType.rawValue))
                body.appendLE(UInt16(0))                                // reserved
                body.appendLE(UInt32(clamping: max(0, source.snaplen))) // 0 = no limit
                if !source.name.isEmpty { body.appendOption(code: 2, string: source.name) }        // if_name
                let description = source.origin + (source.guest.map { (source.origin.isEmpty ? "" : ", ") + "guest \($0)" } ?? "")
                if !description.isEmpty { body.appendOption(code: 3, string: description) }      // if_description
                body.appendOption(code: 9, bytes: [UInt8(precision.digits)])                       // if_tsresol
                body.appendEndOfOptions()
            }
        }
        return header
    }

    /// Bytes one Enhanced Packet Block takes for `capturedLength` packet bytes.
    @inlinable
    public func recordLength(capturedLength: Int) -> Int {
        Self.enhancedPacketOverhead + ((capturedLength + 3) & ~3)
    }

    /// Whether `packet` can be framed: its `sourceIndex` names an interface of the same link type.
    @inlinable
    public func accepts(_ packet: OutboundPacket) -> Bool {
        let index = Int(packet.sourceIndex)
        return index < sources.count && sources[index].linkType == packet.linkType
    }

    /// Writes an Enhanced Packet Block for `packet` at `destination`, which must have room for
    /// `recordLength(capturedLength: packet.bytes.count)` bytes. Check `accepts` first.
    @inlinable
    public func writeRecord(_ packet: OutboundPacket, to destination: UnsafeMutableRawPointer) {
        let captured = packet.bytes.count
        let padded = (captured + 3) & ~3
        let total = UInt32(truncatingIfNeeded: Self.enhancedPacketOverhead + padded)
        let units: Int64
        if precision == .nano {
            units = packet.timestampNanos
        } else {
            let (seconds, remainder) = splitNanos(packet.timestampNanos)
            units = seconds &* 1_000_000 &+ remainder / 1000
        }
        let stamp = UInt64(bitPattern: units)
        let original = max(packet.wireLength, UInt32(truncatingIfNeeded: captured))
        destination.storeBytes(of: UInt32(6).littleEndian, toByteOffset: 0, as: UInt32.self)
        destination.storeBytes(of: total.littleEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: UInt32(packet.sourceIndex).littleEndian, toByteOffset: 8, as: UInt32.self)
        destination.storeBytes(of: UInt32(truncatingIfNeeded: stamp >> 32).littleEndian, toByteOffset: 12, as: UInt32.self)
        destination.storeBytes(of: UInt32(truncatingIfNeeded: stamp).littleEndian, toByteOffset: 16, as: UInt32.self)
        destination.storeBytes(of: UInt32(truncatingIfNeeded: captured).littleEndian, toByteOffset: 20, as: UInt32.self)
        destination.storeBytes(of: original.littleEndian, toByteOffset: 24, as: UInt32.self)
        if let source = packet.bytes.baseAddress, captured > 0 {
            (destination + 28).copyMemory(from: source, byteCount: captured)
        }
        if padded > captured {
            (destination + 28 + captured).initializeMemory(as: UInt8.self, repeating: 0, count: padded - captured)
        }
        destination.storeBytes(of: total.littleEndian, toByteOffset: 28 + padded, as: UInt32.self)
    }

    /// A block: type, total length, body (padded to 32 bits), total length again.
    static func block(type: UInt32, _ fill: (inout [UInt8]) -> Void) -> [UInt8] {
        var body: [UInt8] = []
        fill(&body)
        while body.count % 4 != 0 { body.append(0) }
        let total = UInt32(12 + body.count)
        var block: [UInt8] = []
        block.reserveCapacity(Int(total))
        block.appendLE(type)
        block.appendLE(total)
        block += body
        block.appendLE(total)
        return block
    }
}

extension [UInt8] {
    /// Appends an option: code, length, value, zero padding to 32 bits.
    mutating func appendOption(code: UInt16, bytes value: [UInt8]) {
        appendLE(code)
        appendLE(UInt16(value.count))
        self += value
        let padding = (4 - value.count % 4) % 4
        append(contentsOf: repeatElement(0, count: padding))
    }

    /// Appends a UTF-8 string option, cut at a character boundary to fit the 16-bit length.
    mutating func appendOption(code: UInt16, string: String) {
        var utf8 = Array(string.utf8)
        if utf8.count > 65_532 {
            var end = 65_532
            while end > 0, utf8[end] & 0xC0 == 0x80 { end -= 1 }   // do not split a character
            utf8.removeSubrange(end...)
        }
        appendOption(code: code, bytes: utf8)
    }

    /// Appends opt_endofopt.
    mutating func appendEndOfOptions() {
        appendLE(UInt32(0))
    }
}
