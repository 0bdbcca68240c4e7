import Foundation
import SidetapCore
import SidetapTestKit

/// The tcpdump test-suite corpus (located by SidetapTestKit).
enum Corpus {
    static var directory: String? { TestPaths.corpusDirectory }

    /// Every file of the corpus, sorted by name (empty when the corpus is missing).
    static var files: [String] { (try? TestPaths.corpusFiles()) ?? [] }
}

/// FNV-1a over everything a reader delivers, packet after packet.
struct RunningHash: Equatable, CustomStringConvertible {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    private(set) var packets = 0

    mutating func add(_ packet: CapturedPacket) {
        add(UInt64(packet.bytes.count))
        add(UInt64(packet.wireLength))
        add(UInt64(bitPattern: packet.timestampNanos))
        for byte in packet.bytes { mix(byte) }
        packets += 1
    }

    private mutating func add(_ word: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }

    private mutating func mix(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    var description: String { "\(packets) packets, hash \(String(value, radix: 16))" }
}

/// What a complete read of a file gave.
struct ReadOutcome: Equatable, CustomStringConvertible {
    var hash = RunningHash()
    var problem: String?
    var description: String { "\(hash)\(problem.map { ", stopped: \($0)" } ?? "")" }
}

/// Opens, polls to the end with batches of `limit`, closes.
func readAll(_ source: any PacketSource, limit: Int = 64, check: (CapturedPacket) -> Void = { _ in }) throws -> ReadOutcome {
    try source.open()
    defer { source.close() }
    var outcome = ReadOutcome()
    var polls = 0
    while true {
        let result = try source.poll(limit: limit) { packet in
            check(packet)
            outcome.hash.add(packet)
        }
        polls += 1
        if result == .endOfInput || polls > 10_000_000 { break }
    }
    outcome.problem = source.lastProblem
    return outcome
}

/// Writes classic pcap files byte by byte, for cases the corpus does not have.
struct PcapFileBuilder {
    var magic: UInt32 = 0xA1B2_C3D4
    var bigEndian = false
    var versionMajor: UInt16 = 2
    var versionMinor: UInt16 = 4
    var snaplen: UInt32 = 65535
    var linkType: UInt32 = 1
    private(set) var bytes: [UInt8] = []

    init(magic: UInt32 = 0xA1B2_C3D4, bigEndian: Bool = false, versionMajor: UInt16 = 2, versionMinor: UInt16 = 4, snaplen: UInt32 = 65535, linkType: UInt32 = 1) {
        self.magic = magic
        self.bigEndian = bigEndian
        self.versionMajor = versionMajor
        self.versionMinor = versionMinor
        self.snaplen = snaplen
        self.linkType = linkType
        put32(magic)
        put16(versionMajor)
        put16(versionMinor)
        put32(0)
        put32(0)
        put32(snaplen)
        put32(linkType)
    }

    mutating func put16(_ value: UInt16) {
        let v = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    mutating func put32(_ value: UInt32) {
        let v = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    /// A record: header fields exactly as given (first/second length in file order), optional
    /// Kuznetzov extra header bytes, then `data`.
    mutating func record(seconds: UInt32, fraction: UInt32, first: UInt32, second: UInt32, data: [UInt8], extraHeader: Int = 0) {
        put32(seconds)
        put32(fraction)
        put32(first)
        put32(second)
        bytes.append(contentsOf: [UInt8](repeating: 0xEE, count: extraHeader))
        bytes.append(contentsOf: data)
    }

    /// A normal record whose caplen is the data's length.
    mutating func packet(seconds: UInt32, fraction: UInt32, data: [UInt8], wireLength: UInt32? = nil) {
        record(seconds: seconds, fraction: fraction, first: UInt32(data.count), second: wireLength ?? UInt32(data.count), data: data)
    }

    mutating func append(raw: [UInt8]) { bytes.append(contentsOf: raw) }

    /// Writes the file into a fresh temporary directory and returns its path.
    func write(name: String = "test.pcap") throws -> String {
        try TemporaryFiles.write(bytes, name: name)
    }
}

enum TemporaryFiles {
    static let directory: String = {
        // tmpfs when there is one: these files are small and many.
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let path = base + "sidetap-capture-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func write(_ bytes: [UInt8], name: String) throws -> String {
        let path = "\(directory)/\(UUID().uuidString)-\(name)"
        // fopen/fwrite rather than Data.write, which fsyncs every file.
        guard let file = fopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
        defer { fclose(file) }
        guard bytes.withUnsafeBytes({ fwrite($0.baseAddress, 1, $0.count, file) }) == bytes.count else {
            throw CocoaError(.fileWriteUnknown)
        }
        return path
    }
}

/// Deterministic bytes for synthetic packets.
func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}
