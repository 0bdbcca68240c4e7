import Foundation
import SidetapCapture
import SidetapCore
import SidetapPcap
import Testing

/// Every corpus file through a plain libpcap loop, `PcapFileSource` and (for classic pcap)
/// `MappedPcapFileSource`: the same packets, bytes, lengths, timestamps and stopping point.
@Suite struct CorpusReaderTests {
    /// A plain `pcap_next_ex` loop: the reference.
    static func libpcapLoop(_ path: String) -> (ReadOutcome, LinkType, Int)? {
        guard let capture = try? OfflineCapture(path: path) else { return nil }
        defer { capture.close() }
        var outcome = ReadOutcome()
        reading: while true {
            switch capture.next() {
            case .packet(let packet): outcome.hash.add(packet)
            case .end: break reading
            case .error(let message):
                outcome.problem = message
                break reading
            }
        }
        return (outcome, capture.linkType, capture.snaplen)
    }

    @Test func everyCorpusFileReadsIdenticallyThroughBothReaders() throws {
        let files = Corpus.files
        #expect(Corpus.directory != nil, "corpus not found next to the repository (../shared/corpus/tcpdump-tests)")
        #expect(files.count >= 800)

        var mappedFiles = 0
        var libpcapOnly: [String] = []
        var refused: [String] = []
        var stopped: [(String, String)] = []
        var totalPackets = 0
        var limits = [1, 7, 64, 4096].makeIterator()

        for path in files {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            guard let (reference, linkType, snaplen) = Self.libpcapLoop(path) else {
                // libpcap refuses the file: both sources must refuse it too, naming the path.
                refused.append(name)
                #expect(throws: FileSourceError.self) { try PcapFileSource(path: path, name: "x") }
                #expect(throws: FileSourceError.self) { try FileSources.open(path: path, name: "x") }
                continue
            }
            totalPackets += reference.hash.packets
            if let problem = reference.problem { stopped.append((name, problem)) }
            let limit = limits.next() ?? { limits = [1, 7, 64, 4096].makeIterator(); return limits.next()! }()

            let viaLibpcap = try PcapFileSource(path: path, name: name, sourceIndex: 3)
            #expect(viaLibpcap.description.linkType == linkType)
            #expect(viaLibpcap.description.snaplen == snaplen)
            let libpcapOutcome = try readAll(viaLibpcap, limit: limit) { packet in
                #expect(packet.sourceIndex == 3)
                #expect(packet.direction == .unknown)
            }
            #expect(libpcapOutcome == reference, "\(name): PcapFileSource \(libpcapOutcome) vs libpcap \(reference)")
            #expect(viaLibpcap.statistics.delivered == UInt64(reference.hash.packets))
            #expect(viaLibpcap.statistics.errors == (reference.problem == nil ? 0 : 1))

            let automatic = try FileSources.open(path: path, name: name)
            guard let mapped = automatic as? MappedPcapFileSource else {
                libpcapOnly.append(name)
                #expect(automatic is PcapFileSource)
                #expect(throws: FileSourceError.self) { try MappedPcapFileSource(path: path, name: name) }
                continue
            }
            mappedFiles += 1
            #expect(mapped.bytesOutliveDelivery)
            #expect(mapped.description.linkType == linkType, "\(name)")
            #expect(mapped.description.snaplen == snaplen, "\(name)")
            #expect(mapped.description.timestampDigits == viaLibpcap.description.timestampDigits, "\(name)")
            // Keep every delivered buffer and hash them again at the end: they must outlive delivery.
            var kept: [CapturedPacket] = []
            try mapped.open()
            var mappedOutcome = ReadOutcome()
            while try mapped.poll(limit: limit, { packet in
                mappedOutcome.hash.add(packet)
                kept.append(packet)
            }) != .endOfInput {}
            mappedOutcome.problem = mapped.lastProblem
            var again = RunningHash()
            for packet in kept { again.add(packet) }
            mapped.close()
            #expect(again == mappedOutcome.hash, "\(name): mapped bytes changed before close")
            #expect(mappedOutcome == reference, "\(name): MappedPcapFileSource \(mappedOutcome) vs libpcap \(reference)")
            #expect(mapped.statistics.delivered == UInt64(reference.hash.packets))
            #expect(mapped.statistics.errors == (reference.problem == nil ? 0 : 1))
        }

        print("corpus: \(files.count) files, \(totalPackets) packets; \(mappedFiles) read in place, "
              + "\(libpcapOnly.count) through libpcap only, \(refused.count) refused by libpcap")
        print("refused by libpcap: \(refused.joined(separator: ", "))")
        print("libpcap stops with an error in \(stopped.count) files:")
        for (name, problem) in stopped { print("  \(name): \(problem)") }
        // The corpus holds classic and pcapng files; its damage is inside packets, not records
        // (libpcap stops in none of its files as shipped): `damagedCorpusCopies` covers that.
        #expect(mappedFiles > 700)
        #expect(libpcapOnly.count >= 40)
        #expect(totalPackets > 10_000)
    }

    /// Damaged copies of the corpus's classic files (cut inside a record header, inside a
    /// body, one byte short; a first caplen above the link maximum, above the snaplen, a
    /// snaplen of zero, timestamp fields with the sign bit set): every reader must stop at the
    /// same record with the same message.
    @Test func damagedCorpusCopiesStopWhereLibpcapStops() throws {
        let files = Corpus.files
        #expect(files.count >= 800)
        var variants = 0
        var stoppedVariants = 0
        var messages: Set<String> = []
        for path in files {
            guard let original = FileManager.default.contents(atPath: path).map({ [UInt8]($0) }),
                  original.count > 40,
                  (try? MappedPcapFileSource(path: path, name: "probe")) != nil
            else { continue }
            let little = original[0] == 0xD4 || original[0] == 0x4D
            func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
                for i in 0..<4 {
                    let shift = little ? 8 * i : 8 * (3 - i)
                    bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(shift))
                }
            }
            var copies: [[UInt8]] = [
                Array(original.prefix(24 + 7)),
                Array(original.prefix(original.count - 1)),
                Array(original.prefix(24 + 16 + (original.count - 40) / 2)),
            ]
            var huge = original
            put32(&huge, 24 + 8, 0x7FFF_FFF0)
            copies.append(huge)
            var aboveSnaplen = original
            put32(&aboveSnaplen, 16, 20)          // snaplen 20: longer records are cut to 20
            copies.append(aboveSnaplen)
            var negativeTime = original
            put32(&negativeTime, 24, 0xFFFF_FFF0)  // seconds and fraction with the top bit set
            put32(&negativeTime, 28, 0x8000_0001)
            copies.append(negativeTime)
            var zeroSnaplen = original
            put32(&zeroSnaplen, 16, 0)            // libpcap then uses the link type's maximum
            copies.append(zeroSnaplen)
            for (index, copy) in copies.enumerated() {
                let copyPath = try TemporaryFiles.write(copy, name: "damaged-\(index).pcap")
                defer { try? FileManager.default.removeItem(atPath: copyPath) }
                guard let (reference, _, _) = Self.libpcapLoop(copyPath) else { continue }
                variants += 1
                if let problem = reference.problem {
                    stoppedVariants += 1
                    messages.insert(String(problem.prefix(while: { $0 != "," })).filter { !$0.isNumber })
                }
                let viaLibpcap = try readAll(PcapFileSource(path: copyPath, name: "d"), limit: 5)
                #expect(viaLibpcap == reference, "\(path) variant \(index)")
                let mapped = try readAll(FileSources.open(path: copyPath, name: "d", reader: .mmap), limit: 5)
                #expect(mapped == reference, "\(path) variant \(index): mapped \(mapped) vs libpcap \(reference)")
            }
        }
        print("damaged copies: \(variants) read, \(stoppedVariants) stopped by libpcap; messages: \(messages.sorted())")
        #expect(variants > 3000)
        #expect(stoppedVariants > 1500)
        #expect(messages.count >= 3)
    }
}
