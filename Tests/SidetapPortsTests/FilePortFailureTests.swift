import Foundation
import Glibc
import SidetapCore
import SidetapEvidence
import SidetapPorts
import Testing

/// A write(2) that fails half-way leaves a file that still ends on a complete record.
/// Serialized: the tests change the process's file-size limit.
@Suite(.serialized) struct FilePortFailureTests {
    @Test func failedWriteCutsTheFileBackToItsLastCompleteRecord() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("full.pcap")
        let port = FilePort(name: "full", settings: FilePortSettings(path: path))
        try port.open(sources: [Traffic.source("eth0")])
        var packet = Traffic.ethernet(count: 6)[5]   // 1514 bytes, 1530-byte records
        #expect(packet.bytes.count == 1514)
        for _ in 0..<20_000 { try packet.write(to: port) }
        try port.flush()   // 30.6 MB on disk

        // A 32 MiB file-size limit (SIGXFSZ ignored) makes write(2) fail with EFBIG part-way.
        let limitBytes: rlim_t = 32 << 20
        var saved = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit(rlim_cur: limitBytes, rlim_max: saved.rlim_max)
        #expect(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0)
        var accepted = 0
        var failure: PortWriteError?
        for _ in 0..<3_000 where failure == nil {
            do throws(PortWriteError) {
                try packet.write(to: port)
                accepted += 1
            } catch {
                failure = error
            }
        }
        if failure == nil {
            do throws(PortWriteError) { try port.flush() } catch { failure = error }
        }
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)

        #expect(failure?.code == EFBIG)
        #expect(port.lostPackets > 0)
        // The port keeps going: later packets are written after the cut.
        packet.bytes[20] = 0xAB
        for _ in 0..<3 { try packet.write(to: port) }
        try port.close()

        let bytes = try #require(FileManager.default.contents(atPath: path)).map { $0 }
        var offset = 24
        var records: [[UInt8]] = []
        while offset + 16 <= bytes.count {
            let captured = Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16
            records.append(Array(bytes[(offset + 16)..<min(bytes.count, offset + 16 + captured)]))
            offset += 16 + captured
        }
        #expect(offset == bytes.count, "the file ends on a record boundary")
        #expect(records.count == 20_000 + accepted - Int(port.lostPackets) + 3)
        #expect(records.suffix(3).allSatisfy { $0 == packet.bytes })
        #expect(records.allSatisfy { $0.count == 1514 })
        let check = try Tool.run("/usr/bin/tcpdump", ["-r", path, "-nn", "-q", "-c", "1000000"])
        #expect(check.status == 0, "\(check.standardError)")
        #expect(check.standardOutput.split(separator: "\n").count == records.count)
    }

    /// After a failed write cut the file back, the bytes hashed while writing no longer match
    /// the file: the manifest's digest comes from reading the finished file, and verifies.
    @Test func manifestDigestStaysRightAfterAFailedWrite() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("cut.pcap")
        let port = FilePort(name: "cut", settings: FilePortSettings(path: path, manifest: true))
        try port.open(sources: [Traffic.source("eth0")])
        let packet = Traffic.ethernet(count: 6)[5]
        for _ in 0..<20_000 { try packet.write(to: port) }
        try port.flush()

        let limitBytes: rlim_t = 32 << 20
        var saved = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit(rlim_cur: limitBytes, rlim_max: saved.rlim_max)
        #expect(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0)
        var failure: PortWriteError?
        for _ in 0..<3_000 where failure == nil {
            do throws(PortWriteError) { try packet.write(to: port) } catch { failure = error }
        }
        if failure == nil {
            do throws(PortWriteError) { try port.flush() } catch { failure = error }
        }
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        #expect(failure?.code == EFBIG)
        for _ in 0..<3 { try packet.write(to: port) }
        try port.close()

        let report = try EvidenceVerifier.verify(directory: directory.path)
        #expect(report.isClean, "\(report.findings)")
        #expect(report.verifiedFiles == 1)
        let lines = try String(contentsOfFile: directory.file("cut.manifest"), encoding: .utf8).split(separator: "\n")
        guard case .file(let file) = try ManifestEntry(fields: ChainRecord.decode(line: Array(lines[1].utf8))) else {
            Issue.record("line 2 is not a file entry: \(lines)")
            return
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(file.bytes == Int64(size))
        #expect(file.packets == Int64((size - 24) / 1530))
    }
}
