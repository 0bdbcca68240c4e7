import SidetapCore
import SidetapPorts
import Testing

/// Byte-level checks of the pcap and pcapng framing, independent of any reader.
@Suite struct FramingTests {
    static func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    static func u32(_ bytes: [UInt8], _ at: Int) -> Int { u16(bytes, at) | u16(bytes, at + 2) << 16 }

    static func record(_ write: (OutboundPacket, UnsafeMutableRawPointer) -> Void, length: Int, packet: TestPacket) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: length)
        packet.bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBytes { destination in
                write(OutboundPacket(bytes: raw, wireLength: packet.wireLength, timestampNanos: packet.timestampNanos,
                                     sourceIndex: packet.sourceIndex, linkType: packet.linkType), destination.baseAddress!)
            }
        }
        return out
    }

    @Test func pcapGlobalHeaderAndRecords() throws {
        let nano = PcapFraming(linkType: .linuxSLL2, snaplen: 9000, precision: .nano)
        #expect(nano.fileHeader() == [0x4D, 0x3C, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0x28, 0x23, 0, 0, 0x14, 0x01, 0, 0])
        let micro = PcapFraming(linkType: .ethernet, snaplen: 65535, precision: .micro)
        #expect(Array(micro.fileHeader().prefix(4)) == [0xD4, 0xC3, 0xB2, 0xA1])

        let packet = TestPacket(bytes: [1, 2, 3], wireLength: 60, timestampNanos: 1_700_000_000_987_654_321)
        let nanoRecord = Self.record(nano.writeRecord, length: nano.recordLength(capturedLength: 3), packet: packet)
        #expect(Self.u32(nanoRecord, 0) == 1_700_000_000)
        #expect(Self.u32(nanoRecord, 4) == 987_654_321)
        #expect(Self.u32(nanoRecord, 8) == 3)
        #expect(Self.u32(nanoRecord, 12) == 60)
        #expect(Array(nanoRecord.suffix(3)) == [1, 2, 3])
        let microRecord = Self.record(micro.writeRecord, length: 19, packet: packet)
        #expect(Self.u32(microRecord, 4) == 987_654)
    }

    @Test func pcapSnaplenComesFromTheSources() throws {
        let sources = [Traffic.source("a", snaplen: 1500), Traffic.source("b", snaplen: 9000)]
        #expect(try PcapFraming(port: "p", sources: sources, precision: .nano).snaplen == 9000)
        let unknown = [Traffic.source("a", snaplen: 0)]
        #expect(try PcapFraming(port: "p", sources: unknown, precision: .nano).snaplen == 262_144)
        #expect(throws: PortSetupError.noSources(port: "p")) {
            try PcapFraming(port: "p", sources: [], precision: .nano)
        }
    }

    /// Walks every block of a pcapng header: lengths agree, bodies are 32-bit aligned, and
    /// every option list is padded and ends with opt_endofopt.
    @Test(arguments: [TimestampPrecision.nano, .micro])
    func pcapngBlocksAndOptionsAreWellFormed(precision: TimestampPrecision) throws {
        let sources = [
            SourceDescription(name: "vnet0", linkType: .ethernet, snaplen: 65535, origin: "interface vnet0"),
            SourceDescription(name: "t", linkType: .raw, snaplen: 1500, origin: ""),
        ]
        let framing = try PcapngFraming(port: "p", sources: sources, precision: precision, sectionComment: "héllo, 5")
        let header = framing.fileHeader()
        var blocks: [(type: Int, options: [(Int, [UInt8])], fixed: [UInt8])] = []
        var offset = 0
        while offset < header.count {
            let type = Self.u32(header, offset)
            let total = Self.u32(header, offset + 4)
            #expect(total % 4 == 0)
            #expect(Self.u32(header, offset + total - 4) == total)
            let fixedLength = type == 0x0A0D_0D0A ? 16 : 8
            let fixed = Array(header[(offset + 8)..<(offset + 8 + fixedLength)])
            var options: [(Int, [UInt8])] = []
            var cursor = offset + 8 + fixedLength
            while true {
                let code = Self.u16(header, cursor)
                let length = Self.u16(header, cursor + 2)
                options.append((code, Array(header[(cursor + 4)..<(cursor + 4 + length)])))
                cursor += 4 + (length + 3) / 4 * 4
                if code == 0 { break }
            }
            #expect(cursor == offset + total - 4, "options end exactly before the trailing length")
            blocks.append((type, options, fixed))
            offset += total
        }
        #expect(blocks.map(\.type) == [0x0A0D_0D0A, 1, 1])
        let section = blocks[0]
        #expect(section.fixed == [0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(section.options.map(\.0) == [1, 4, 0])
        #expect(String(decoding: section.options[0].1, as: UTF8.self) == "héllo, 5")
        #expect(String(decoding: section.options[1].1, as: UTF8.self) == "Sidetap")
        let first = blocks[1]
        #expect(Self.u16(first.fixed, 0) == 1 && Self.u32(first.fixed, 4) == 65535)
        #expect(first.options.map(\.0) == [2, 3, 9, 0])
        #expect(String(decoding: first.options[0].1, as: UTF8.self) == "vnet0")
        #expect(String(decoding: first.options[1].1, as: UTF8.self) == "interface vnet0")
        #expect(first.options[2].1 == [UInt8(precision.digits)])
        let second = blocks[2]
        #expect(Self.u16(second.fixed, 0) == 101 && Self.u32(second.fixed, 4) == 1500)
        #expect(second.options.map(\.0) == [2, 9, 0])   // empty origin: no if_description
    }

    @Test func pcapngEnhancedPacketBlock() throws {
        let framing = try PcapngFraming(port: "p", sources: [Traffic.source("a"), Traffic.source("b", .raw)], precision: .micro)
        let packet = TestPacket(bytes: [9, 8, 7, 6, 5], wireLength: 1000, timestampNanos: 1_700_000_000_987_654_321,
                                sourceIndex: 1, linkType: .raw)
        let length = framing.recordLength(capturedLength: 5)
        #expect(length == 40)
        let block = Self.record(framing.writeRecord, length: length, packet: packet)
        #expect(Self.u32(block, 0) == 6)
        #expect(Self.u32(block, 4) == 40)
        #expect(Self.u32(block, 8) == 1)
        let units = UInt64(Self.u32(block, 12)) << 32 | UInt64(Self.u32(block, 16))
        #expect(units == 1_700_000_000_987_654)
        #expect(Self.u32(block, 20) == 5)
        #expect(Self.u32(block, 24) == 1000)
        #expect(Array(block[28..<36]) == [9, 8, 7, 6, 5, 0, 0, 0])
        #expect(Self.u32(block, 36) == 40)
        var wrong = packet
        wrong.sourceIndex = 0
        #expect(!(wrong.bytes.withUnsafeBytes { raw in
            framing.accepts(OutboundPacket(bytes: raw, wireLength: 5, timestampNanos: 0, sourceIndex: 0, linkType: .raw))
        }))
        #expect(throws: PortSetupError.self) { try PcapngFraming(port: "p", sources: [], precision: .nano) }
    }

    @Test func timestampsBeforeTheEpochSplitWithAPositiveFraction() {
        let framing = PcapFraming(linkType: .ethernet, snaplen: 100, precision: .nano)
        let packet = TestPacket(bytes: [1], wireLength: 1, timestampNanos: -1)   // 1969-12-31T23:59:59.999999999
        let record = Self.record(framing.writeRecord, length: 17, packet: packet)
        #expect(Self.u32(record, 0) == 0xFFFF_FFFF)
        #expect(Self.u32(record, 4) == 999_999_999)
    }

    @Test func formatIsInferredFromTheExtension() {
        #expect(FilePortSettings(path: "out/a.pcapng").format == .pcapng)
        #expect(FilePortSettings(path: "out/a.pcap").format == .pcap)
        #expect(FilePortSettings(path: "out/archive").format == .pcap)
        #expect(FilePortSettings(path: "out/a.pcap", format: .pcapng).format == .pcapng)
        #expect(StreamPortSettings(path: "-").format == .pcap)
    }

    @Test func discardPortCountsAndWritesNothing() throws {
        let port = DiscardPort(name: "null")
        try port.open(sources: [Traffic.source("eth0")])
        let packets = Traffic.ethernet(count: 12)
        for packet in packets { try packet.write(to: port) }
        try port.flush()
        try port.tick(wallNanos: 0)
        try port.close()
        #expect(port.packets == 12)
        #expect(port.bytes == UInt64(packets.reduce(0) { $0 + $1.bytes.count }))
    }
}
