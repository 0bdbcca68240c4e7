import Foundation
import SidetapCore
import SidetapPorts
import SidetapTestKit
import Testing

/// A packet a test writes and later expects to read back.
struct TestPacket: Equatable {
    var bytes: [UInt8]
    var wireLength: UInt32
    var timestampNanos: Int64
    var sourceIndex: UInt16 = 0
    var linkType: LinkType = .ethernet

    /// Writes the packet through `port`.
    func write(to port: any SidetapCore.Port) throws(PortWriteError) {
        let copy = bytes
        let outcome: Result<Void, PortWriteError> = copy.withUnsafeBytes { raw in
            do throws(PortWriteError) {
                try port.write(OutboundPacket(
                    bytes: raw, wireLength: wireLength, timestampNanos: timestampNanos,
                    sourceIndex: sourceIndex, linkType: linkType))
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }

    /// The timestamp a file of `precision` keeps.
    func storedTimestamp(_ precision: TimestampPrecision) -> Int64 {
        precision == .nano ? timestampNanos : timestampNanos - timestampNanos % 1000
    }
}

/// Deterministic test traffic.
enum Traffic {
    /// 2026-01-01T00:00:00.123456789Z
    static let baseNanos: Int64 = 1_767_225_600_123_456_789

    /// Ethernet frames with an experimental ethertype (decoders print one line) and varied
    /// lengths (odd ones exercise pcapng padding), with nanosecond-distinct timestamps.
    static func ethernet(count: Int, sourceIndex: UInt16 = 0, seed: UInt64 = 1, start: Int64 = baseNanos) -> [TestPacket] {
        var state = seed
        func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let lengths = [60, 61, 62, 63, 64, 1514, 15, 17, 9000, 100, 333, 1499]
        return (0..<count).map { index in
            let length = lengths[index % lengths.count]
            var bytes: [UInt8] = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xB5]
            while bytes.count < length { bytes.append(next()) }
            bytes = Array(bytes.prefix(length))
            return TestPacket(
                bytes: bytes, wireLength: UInt32(length),
                timestampNanos: start + Int64(index) * 1_000_001_007 + Int64(index % 7) * 13,
                sourceIndex: sourceIndex, linkType: .ethernet)
        }
    }

    /// Raw IPv4 packets (UDP, zero checksums) for a second link type.
    static func rawIPv4(count: Int, sourceIndex: UInt16, start: Int64 = baseNanos + 500) -> [TestPacket] {
        (0..<count).map { index in
            let payload = 8 + index * 3
            let total = 20 + 8 + payload
            var bytes: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, UInt8(index), 0, 0, 64, 17, 0, 0,
                                  10, 0, 0, 1, 10, 0, 0, 2]
            bytes += [0x30, 0x39, 0x30, 0x3A, UInt8((8 + payload) >> 8), UInt8((8 + payload) & 0xFF), 0, 0]
            bytes += (0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
            return TestPacket(
                bytes: bytes, wireLength: UInt32(total), timestampNanos: start + Int64(index) * 777_777_777,
                sourceIndex: sourceIndex, linkType: .raw)
        }
    }

    static func source(_ name: String, _ linkType: LinkType = .ethernet, snaplen: Int = 65535) -> SourceDescription {
        SourceDescription(name: name, linkType: linkType, snaplen: snaplen, origin: "test:\(name)")
    }
}

/// A fresh directory under /tmp, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/sidetap-ports-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// Names in the directory (hidden ones too), sorted.
    func names(under subdirectory: String = "") -> [String] {
        let target = subdirectory.isEmpty ? path : path + "/" + subdirectory
        return ((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []).sorted()
    }
}

/// Compares packet byte lists, reporting counts and the first difference (not whole arrays).
func expectSamePackets(
    _ read: [[UInt8]], _ written: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(read.count == written.count, "read \(read.count) packets, wrote \(written.count)", sourceLocation: sourceLocation)
    if let index = (0..<min(read.count, written.count)).first(where: { read[$0] != written[$0] }) {
        Issue.record("packet \(index) differs: \(read[index].count) bytes read, \(written[index].count) written",
                     sourceLocation: sourceLocation)
    }
}

/// Compares timestamp lists, reporting the first difference.
func expectSameTimestamps(
    _ read: [Int64], _ written: [Int64], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(read.count == written.count, "read \(read.count) timestamps, wrote \(written.count)", sourceLocation: sourceLocation)
    if let index = (0..<min(read.count, written.count)).first(where: { read[$0] != written[$0] }) {
        Issue.record("timestamp \(index) differs: read \(read[index]), wrote \(written[index])", sourceLocation: sourceLocation)
    }
}

/// Runs an external program and collects its output.
enum Tool {
    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Output {
        let result = try ExternalTool.run(executable, arguments)
        return Output(status: result.status, standardOutput: result.stdout, standardError: result.stderr)
    }

    /// A program running in the background, its standard output going to a file.
    struct Background {
        let process: Process
        let outputPath: String

        /// Waits (at most `seconds`) for the program to end, then returns its output.
        func finish(within seconds: Double = 20) throws -> (status: Int32, output: String, errors: String) {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning {
                process.terminate()
                Issue.record("\(process.executableURL?.path ?? "?") did not finish")
            }
            process.waitUntilExit()
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            let errors = (try? String(contentsOfFile: outputPath + ".err", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: outputPath + ".err")
            return (process.terminationStatus, output, errors)
        }
    }

    /// Starts a program; `input` (if any) becomes its standard input.
    static func start(_ executable: String, _ arguments: [String], input: Pipe? = nil) throws -> Background {
        let outputPath = NSTemporaryDirectory() + "sidetap-tool-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        FileManager.default.createFile(atPath: outputPath + ".err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath + ".err"))
        process.standardInput = input ?? FileHandle.nullDevice
        try process.run()
        return Background(process: process, outputPath: outputPath)
    }

    /// One packet as tcpdump prints it.
    struct DumpedPacket: Equatable {
        var timestampNanos: Int64
        var bytes: [UInt8]
    }

    /// Arguments that make tcpdump print what `parseTcpdump` reads.
    static let tcpdumpArguments = ["-xx", "--time-stamp-precision=nano", "-tt", "-nn"]

    /// `tcpdump -r FILE -xx --time-stamp-precision=nano -tt -nn`, parsed.
    static func tcpdump(_ file: String) throws -> [DumpedPacket] {
        let output = try run("/usr/bin/tcpdump", ["-r", file] + tcpdumpArguments)
        #expect(output.status == 0, "tcpdump failed: \(output.standardError)")
        return parseTcpdump(output.standardOutput)
    }

    static func parseTcpdump(_ text: String) -> [DumpedPacket] {
        var packets: [DumpedPacket] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("\t0x") {
                guard let colon = line.firstIndex(of: ":"), !packets.isEmpty else { continue }
                for group in line[line.index(after: colon)...].split(separator: " ") {
                    packets[packets.count - 1].bytes += hexBytes(group)
                }
            } else if let first = line.first, first.isNumber {
                let stamp = line.prefix(while: { !$0.isWhitespace })
                packets.append(DumpedPacket(timestampNanos: epochNanos(stamp) ?? -1, bytes: []))
            }
        }
        return packets
    }

    /// One packet as `tshark -T fields` prints it.
    struct FrameFields: Equatable {
        var timestampNanos: Int64
        var length: Int
        var capturedLength: Int
        var interfaceID: Int?
        var interfaceName: String
    }

    static func tsharkFields(_ file: String) throws -> [FrameFields] {
        let output = try run("/usr/bin/tshark", [
            "-r", file, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len",
            "-e", "frame.interface_id", "-e", "frame.interface_name",
        ])
        #expect(output.status == 0, "tshark failed: \(output.standardError)")
        return output.standardOutput.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            func field(_ index: Int) -> String { index < fields.count ? fields[index] : "" }
            return FrameFields(
                timestampNanos: epochNanos(Substring(field(0))) ?? -1, length: Int(field(1)) ?? -1,
                capturedLength: Int(field(2)) ?? -1, interfaceID: Int(field(3)), interfaceName: field(4))
        }
    }

    /// `tshark -r FILE -x`: the bytes of every frame.
    static func tsharkBytes(_ file: String) throws -> [[UInt8]] {
        let output = try run("/usr/bin/tshark", ["-r", file, "-x"])
        #expect(output.status == 0, "tshark failed: \(output.standardError)")
        var frames: [[UInt8]] = []
        var current: [UInt8]?
        for line in output.standardOutput.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                if let done = current { frames.append(done) }
                current = nil
                continue
            }
            // "0000  aa bb …  ascii": offset, two spaces, up to 16 hex pairs, then the ASCII column.
            let afterOffset = line.dropFirst(6)
            var bytes: [UInt8] = []
            for token in afterOffset.prefix(16 * 3).split(separator: " ") where token.count == 2 {
                bytes += hexBytes(token)
            }
            current = (current ?? []) + bytes
        }
        if let done = current { frames.append(done) }
        return frames
    }

    static func hexBytes(_ text: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex, let end = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
            guard let byte = UInt8(text[index..<end], radix: 16) else { return bytes }
            bytes.append(byte)
            index = end
        }
        return bytes
    }

    /// "1767225600.123456789" → nanoseconds (any number of fraction digits up to 9).
    static func epochNanos(_ text: Substring) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0]) else { return nil }
        var fraction: Int64 = 0
        if parts.count > 1 {
            let digits = parts[1].prefix(9)
            guard let value = Int64(digits) else { return nil }
            fraction = value
            for _ in digits.count..<9 { fraction *= 10 }
        }
        return seconds * 1_000_000_000 + fraction
    }
}
