import Foundation
import SidetapCapture
import SidetapCore
import SidetapPcap
import SidetapTestKit
import Testing

/// Synthetic classic pcap files covering what the corpus does not: every magic and byte
/// order, old versions with swapped length fields, Kuznetzov records, snaplen cuts, limits,
/// truncations. Each is read by the mapped reader and by libpcap, which must agree.
@Suite struct MappedPcapFileSourceTests {
    /// Reads `path` with the mapped reader and with libpcap; expects identical outcomes.
    @discardableResult
    func readBoth(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (ReadOutcome, [CapturedPacket], [[UInt8]]) {
        let reference = try readAll(PcapFileSource(path: path, name: "libpcap"), limit: 3)
        let mapped = try MappedPcapFileSource(path: path, name: "mapped")
        var packets: [CapturedPacket] = []
        var copies: [[UInt8]] = []
        let outcome = try readAll(mapped, limit: 3) { packet in
            packets.append(packet)
            copies.append(Array(packet.bytes))
        }
        #expect(outcome == reference, "mapped \(outcome) vs libpcap \(reference)", sourceLocation: sourceLocation)
        return (outcome, packets, copies)
    }

    @Test(arguments: [
        (UInt32(0xA1B2_C3D4), false), (0xA1B2_C3D4, true), (0xA1B2_3C4D, false), (0xA1B2_3C4D, true),
    ])
    func everyMagicAndByteOrder(magic: UInt32, bigEndian: Bool) throws {
        var file = PcapFileBuilder(magic: magic, bigEndian: bigEndian)
        file.packet(seconds: 1_700_000_000, fraction: 123_456, data: pattern(60))
        file.packet(seconds: 1_700_000_001, fraction: 999_999, data: pattern(1514, seed: 7), wireLength: 1514)
        file.packet(seconds: 0xFFFF_FFFF, fraction: 0xFFFF_FFFE, data: pattern(42, seed: 9), wireLength: 9000)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (outcome, packets, copies) = try readBoth(path)
        let scale: Int64 = magic == 0xA1B2_3C4D ? 1 : 1000
        #expect(outcome.hash.packets == 3)
        #expect(outcome.problem == nil)
        #expect(packets.map(\.timestampNanos) == [
            1_700_000_000 * 1_000_000_000 + 123_456 * scale,
            1_700_000_001 * 1_000_000_000 + 999_999 * scale,
            // libpcap widens these fields as signed 32-bit values, but as unsigned ones after
            // swapping the byte order (this host is little-endian).
            bigEndian ? 4_294_967_295 * 1_000_000_000 + 4_294_967_294 * scale : -1_000_000_000 + -2 * scale,
        ])
        #expect(packets.map(\.wireLength) == [60, 1514, 9000])
        #expect(copies == [pattern(60), pattern(1514, seed: 7), pattern(42, seed: 9)])
        let source = try MappedPcapFileSource(path: path, name: "m")
        #expect(source.description.timestampDigits == (magic == 0xA1B2_3C4D ? 9 : 6))
    }

    @Test(arguments: [false, true])
    func kuznetzovRecordsAndSnapshot(bigEndian: Bool) throws {
        // libpcap adds 14 to an Ethernet Kuznetzov file's snaplen (a cooked capture's fake header).
        var file = PcapFileBuilder(magic: 0xA1B2_CD34, bigEndian: bigEndian, snaplen: 100)
        file.record(seconds: 10, fraction: 20, first: 60, second: 60, data: pattern(60), extraHeader: 8)
        file.record(seconds: 11, fraction: 21, first: 110, second: 1500, data: pattern(110), extraHeader: 8)
        file.record(seconds: 12, fraction: 22, first: 120, second: 1500, data: pattern(120), extraHeader: 8)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (outcome, packets, _) = try readBoth(path)
        #expect(outcome.hash.packets == 3)
        #expect(packets.map(\.bytes.count) == [60, 110, 114])
        #expect(packets.map(\.timestampNanos) == [10_000_020_000, 11_000_021_000, 12_000_022_000])
        #expect(try MappedPcapFileSource(path: path, name: "k").description.snaplen == 114)
    }

    @Test(arguments: [(UInt16(2), UInt16(2)), (2, 3), (543, 0), (2, 4)])
    func oldVersionsWithSwappedLengths(major: UInt16, minor: UInt16) throws {
        var file = PcapFileBuilder(versionMajor: major, versionMinor: minor)
        // Fields in file order: before 2.3 (and 543.0) len comes first.
        file.record(seconds: 1, fraction: 0, first: 200, second: 80, data: pattern(major == 2 && minor == 4 ? 200 : 80))
        file.record(seconds: 2, fraction: 0, first: 50, second: 50, data: pattern(50))
        file.record(seconds: 3, fraction: 0, first: 40, second: 300, data: pattern(major == 2 && minor >= 3 ? 40 : 300))
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (outcome, packets, _) = try readBoth(path)
        #expect(outcome.problem == nil, "\(outcome)")
        let expected: [(Int, UInt32)] = switch (major, minor) {
        case (2, 4): [(200, 200), (50, 50), (40, 300)]       // caplen > len stays as written
        case (2, 3): [(80, 200), (50, 50), (40, 300)]        // swapped only where caplen > len
        default: [(80, 200), (50, 50), (300, 40)]            // always swapped
        }
        #expect(packets.map(\.bytes.count) == expected.map(\.0))
        #expect(packets.map(\.wireLength) == expected.map { max($0.1, UInt32($0.0)) })
    }

    @Test func recordsLongerThanTheSnaplenAreCut() throws {
        var file = PcapFileBuilder(snaplen: 64)
        file.packet(seconds: 1, fraction: 1, data: pattern(100), wireLength: 100)
        file.packet(seconds: 2, fraction: 2, data: pattern(64, seed: 3), wireLength: 64)
        file.packet(seconds: 3, fraction: 3, data: pattern(65, seed: 5), wireLength: 1000)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (outcome, packets, copies) = try readBoth(path)
        #expect(outcome.problem == nil)
        #expect(copies == [Array(pattern(100).prefix(64)), pattern(64, seed: 3), Array(pattern(65, seed: 5).prefix(64))])
        #expect(packets.map(\.wireLength) == [100, 64, 1000])
    }

    @Test func captureLengthAboveTheLinkMaximumStops() throws {
        // A snaplen above the maximum is kept; the maximum still applies.
        var file = PcapFileBuilder(snaplen: 1_000_000)
        file.packet(seconds: 1, fraction: 0, data: pattern(10))
        file.record(seconds: 2, fraction: 0, first: 262_145, second: 262_145, data: pattern(300_000))
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (outcome, _, _) = try readBoth(path)
        #expect(outcome.hash.packets == 1)
        #expect(outcome.problem == "invalid packet capture length 262145, bigger than maximum of 262144")

        var zero = PcapFileBuilder(snaplen: 0)   // 0: libpcap takes the link type's maximum
        zero.packet(seconds: 1, fraction: 0, data: pattern(262_144))
        zero.record(seconds: 2, fraction: 0, first: 262_145, second: 262_145, data: pattern(300_000))
        let zeroPath = try zero.write()
        defer { try? FileManager.default.removeItem(atPath: zeroPath) }
        let (zeroOutcome, _, _) = try readBoth(zeroPath)
        #expect(zeroOutcome.hash.packets == 1)
        #expect(zeroOutcome.problem == "invalid packet capture length 262145, bigger than snaplen of 262144")

        var small = PcapFileBuilder(snaplen: 1000)
        small.record(seconds: 2, fraction: 0, first: 0x8000_0000, second: 10, data: [])
        let smallPath = try small.write()
        defer { try? FileManager.default.removeItem(atPath: smallPath) }
        let (smallOutcome, _, _) = try readBoth(smallPath)
        #expect(smallOutcome.problem == "invalid packet capture length 2147483648, bigger than snaplen of 1000")
    }

    @Test func dbusAllowsLongerRecords() throws {
        var file = PcapFileBuilder(snaplen: 0, linkType: 231)
        file.packet(seconds: 1, fraction: 0, data: pattern(300_000))
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (outcome, packets, _) = try readBoth(path)
        #expect(outcome.problem == nil)
        #expect(packets.map(\.bytes.count) == [300_000])
    }

    @Test func truncationsStopWithLibpcapsMessage() throws {
        var base = PcapFileBuilder(snaplen: 64)
        base.packet(seconds: 1, fraction: 0, data: pattern(50))
        let complete = base.bytes
        var cases: [([UInt8], String?)] = []
        cases.append((complete, nil))
        cases.append((complete + [1, 2, 3, 4, 5], "truncated dump file; tried to read 16 header bytes, only got 5"))
        var body = base
        body.packet(seconds: 2, fraction: 0, data: pattern(40))
        cases.append((Array(body.bytes.dropLast(10)), "truncated dump file; tried to read 40 captured bytes, only got 30"))
        var cut = base
        cut.packet(seconds: 3, fraction: 0, data: pattern(100))
        // A record cut to the snaplen: short of the snaplen, then short of the caplen.
        cases.append((Array(cut.bytes.dropLast(50)), "truncated dump file; tried to read 64 captured bytes, only got 50"))
        cases.append((Array(cut.bytes.dropLast(20)), "truncated dump file; tried to read 100 captured bytes, only got 80"))
        for (bytes, message) in cases {
            let path = try TemporaryFiles.write(bytes, name: "cut.pcap")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let (outcome, _, _) = try readBoth(path)
            #expect(outcome.problem == message)
            let source = try MappedPcapFileSource(path: path, name: "t")
            _ = try readAll(source)
            #expect(source.statistics.errors == (message == nil ? 0 : 1))
        }
    }

    @Test func headerOnlyFileHasNoPackets() throws {
        let path = try PcapFileBuilder().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = try MappedPcapFileSource(path: path, name: "empty")
        try source.open()
        #expect(try source.poll(limit: 10) { _ in } == .endOfInput)
        #expect(source.lastProblem == nil)
        #expect(source.statistics == SourceStatistics())
        source.close()
    }

    @Test func stopEndsInputAndReopenStartsAgain() throws {
        var file = PcapFileBuilder()
        for i in 0..<10 { file.packet(seconds: UInt32(i), fraction: 0, data: pattern(60 + i)) }
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        for source in [try MappedPcapFileSource(path: path, name: "m") as any PacketSource, try PcapFileSource(path: path, name: "p")] {
            #expect(throws: FileSourceError.self) { try source.poll(limit: 1) { _ in } }
            try source.open()
            #expect(try source.poll(limit: 4) { _ in } == .delivered(4))
            source.stop()
            #expect(try source.poll(limit: 4) { _ in } == .endOfInput)
            source.close()
            try source.open()
            var seen: [Int64] = []
            while try source.poll(limit: 3, { seen.append($0.timestampNanos) }) != .endOfInput {}
            #expect(seen == (0..<10).map { Int64($0) * 1_000_000_000 })
            source.close()
            #expect(source.statistics.delivered == 14)
        }
    }

    @Test func byteSwappedCookedCaptureGoesThroughLibpcap() throws {
        // A big-endian SLL file with a SocketCAN packet: libpcap swaps its CAN ID while reading.
        var file = PcapFileBuilder(bigEndian: true, linkType: 113)
        var packet = [UInt8](repeating: 0, count: 16) + [0x12, 0x34, 0x56, 0x78] + pattern(12)
        packet[14] = 0x00
        packet[15] = 0x0C   // LINUX_SLL_P_CAN
        file.packet(seconds: 1, fraction: 0, data: packet)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: FileSourceError.self) { try MappedPcapFileSource(path: path, name: "m") }
        let automatic = try FileSources.open(path: path, name: "a")
        #expect(automatic is PcapFileSource)
        var delivered: [UInt8] = []
        _ = try readAll(automatic) { delivered = Array($0.bytes) }
        #expect(Array(delivered[16..<20]) == [0x78, 0x56, 0x34, 0x12])
        #expect(Array(delivered[0..<16]) == Array(packet[0..<16]))
    }

    @Test func pcapngFallsBackToLibpcap() throws {
        let pcapng = try #require(Corpus.files.first { path in
            FileManager.default.contents(atPath: path).map { $0.prefix(4) == Data([0x0A, 0x0D, 0x0D, 0x0A]) } ?? false
        })
        #expect(try FileSources.open(path: pcapng, name: "n") is PcapFileSource)
        #expect(try FileSources.open(path: pcapng, name: "n", reader: .libpcap) is PcapFileSource)
        do {
            _ = try FileSources.open(path: pcapng, name: "n", reader: .mmap)
            Issue.record("a pcapng file opened with the mmap reader")
        } catch {
            #expect(error.path == pcapng)
            #expect(error.reason.contains("pcapng"))
        }
    }

    @Test func classicFilesPickTheMappedReader() throws {
        let path = try PcapFileBuilder().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try FileSources.open(path: path, name: "c") is MappedPcapFileSource)
        #expect(try FileSources.open(path: path, name: "c", reader: .mmap) is MappedPcapFileSource)
        #expect(try FileSources.open(path: path, name: "c", reader: .libpcap) is PcapFileSource)
        let source = try FileSources.open(path: path, name: "c", guest: "vm1", sourceIndex: 9)
        #expect(source.description == SourceDescription(name: "c", guest: "vm1", linkType: .ethernet, snaplen: 65535, timestampDigits: 6, origin: path))
    }

    @Test func errorsNameThePathAndLibpcapsReason() throws {
        let missing = "/nonexistent/sidetap/missing.pcap"
        for reader in FileReader.allCases {
            do {
                _ = try FileSources.open(path: missing, name: "x", reader: reader)
                Issue.record("opened a missing file")
            } catch {
                #expect(error.description.hasPrefix(missing))
                #expect(error.reason.contains("No such file or directory"))
            }
        }
        let garbage = try TemporaryFiles.write(Array("this is not a capture file at all".utf8), name: "garbage.pcap")
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        #expect { try FileSources.open(path: garbage, name: "x") } throws: { error in
            (error as? FileSourceError)?.reason == "unknown file format"
        }
        let archaic = try PcapFileBuilder(versionMajor: 1, versionMinor: 0).write()
        defer { try? FileManager.default.removeItem(atPath: archaic) }
        #expect { try FileSources.open(path: archaic, name: "x") } throws: { error in
            (error as? FileSourceError)?.reason == "archaic pcap savefile format"
        }
    }

    /// Resident bytes of the mapping that contains `address`, from /proc/self/smaps.
    static func residentBytes(of address: UnsafeRawPointer) throws -> Int {
        // Read to the end: /proc files report a size of 0, which `String(contentsOfFile:)` trusts.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps") else { throw TestFailure("cannot open /proc/self/smaps") }
        defer { try? handle.close() }
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let target = UInt(bitPattern: address)
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= target && target < bounds[1]
            } else if inside, fields.first == "Rss:", fields.count >= 2, let kilobytes = Int(fields[1]) {
                return kilobytes * 1024
            }
        }
        throw TestFailure("no mapping holds \(address)")
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Pages before the oldest byte a consumer still holds lose their page-table entries while
    /// reading goes on (so the final unmap has little left to do); pages from it on stay, and
    /// a page taken down still reads back correctly.
    @Test func pagesBeforeWhatConsumersHoldAreTakenDown() throws {
        var file = PcapFileBuilder()
        let packetCount = 24_000   // about 24 MiB of 1,000-byte packets
        for i in 0..<packetCount {
            file.packet(seconds: UInt32(i), fraction: 0, data: pattern(984, seed: UInt8(truncatingIfNeeded: i)))
        }
        let path = try file.write(name: "release-behind.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = try MappedPcapFileSource(path: path, name: "m")
        try source.open()
        defer { source.close() }
        var packets: [CapturedPacket] = []
        while case .delivered = try source.poll(limit: 1000, { packets.append($0) }) {}
        #expect(packets.count == packetCount)
        let first = try #require(packets.first?.bytes.baseAddress)
        let held = packets[packetCount * 3 / 4]
        // Everything was read, so the populating thread has faulted the whole file in.
        #expect(eventually(5) { (try? Self.residentBytes(of: first)) ?? 0 >= 20 << 20 })
        source.deliveredBytesInUse(from: held.bytes.baseAddress)
        // About three quarters of the mapping goes; the quarter from the held packet stays.
        #expect(eventually(5) { (try? Self.residentBytes(of: first)).map { $0 <= 8 << 20 } ?? false })
        #expect(try Self.residentBytes(of: first) >= 5 << 20)
        // A packet whose page was taken down reads back from the page cache, unchanged.
        #expect(Array(packets[10].bytes) == pattern(984, seed: 10))
    }

    /// A named pipe (`mkfifo`; a writer such as `tcpdump -w FIFO`) is opened once and read
    /// from its first byte: the source probes it for its link type with the handle it then
    /// reads, instead of probing, closing and opening again (which lost the header).
    @Test func aNamedPipeIsReadFromItsFirstPacket() throws {
        var file = PcapFileBuilder()
        for i in 0..<5 { file.packet(seconds: UInt32(100 + i), fraction: 0, data: pattern(60 + i, seed: UInt8(i))) }
        let bytes = file.bytes
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sidetap-fifo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/capture.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // The writer opens its end (which waits for the reader) and writes the whole capture.
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
            handle.write(Data(bytes))
            try? handle.close()
        }
        writer.start()
        let source = try FileSources.open(path: fifo, name: "pipe")
        #expect(!source.bytesOutliveDelivery)
        #expect(source.description.linkType == .ethernet)
        try source.open()
        defer { source.close() }
        var copies: [[UInt8]] = []
        while case .delivered = try source.poll(limit: 2, { copies.append(Array($0.bytes)) }) {}
        #expect(copies == (0..<5).map { pattern(60 + $0, seed: UInt8($0)) })
        #expect(source.lastProblem == nil)
    }
}
