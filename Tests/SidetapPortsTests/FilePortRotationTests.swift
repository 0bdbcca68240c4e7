import Foundation
import SidetapCore
import SidetapPorts
import SidetapTestKit
import Testing

/// Naming, atomic rename, rotation by size and time, and keep-N.
@Suite struct FilePortRotationTests {
    /// 2026-01-01T00:00:00Z
    static let midnight: Int64 = 1_767_225_600_000_000_000
    static let second: Int64 = 1_000_000_000

    /// The names in `directory` that look like rotated files of stem "archive", ext ".pcap".
    static func rotated(_ names: [String], stem: String = "archive", ext: String = ".pcap") -> [String] {
        names.filter { $0.hasPrefix(stem + "-") && $0.hasSuffix(ext) && $0.count == stem.count + 23 + ext.count }
    }

    @Test func withoutRotationOnlyTheHiddenPartFileExistsUntilClose() throws {
        let directory = TemporaryDirectory()
        let port = FilePort(name: "a", settings: FilePortSettings(path: directory.file("a.pcapng")))
        try port.open(sources: [Traffic.source("eth0")])
        for packet in Traffic.ethernet(count: 3) { try packet.write(to: port) }
        try port.flush()
        #expect(directory.names() == [".a.pcapng.part"])
        #expect(port.currentTemporaryPath == directory.file(".a.pcapng.part"))
        // The part file is already a readable capture after a flush.
        #expect(try Tool.tcpdump(directory.file(".a.pcapng.part")).count == 3)
        try port.close()
        #expect(directory.names() == ["a.pcapng"])
        #expect(try Tool.tcpdump(directory.file("a.pcapng")).count == 3)
        #expect(port.finishedFiles == 1)
    }

    @Test func withoutRotationAnIdleRunLeavesAnEmptyReadableCapture() throws {
        let directory = TemporaryDirectory()
        let port = FilePort(name: "a", settings: FilePortSettings(path: directory.file("idle.pcap")))
        try port.open(sources: [Traffic.source("eth0")])
        try port.close()
        #expect(directory.names() == ["idle.pcap"])
        #expect(try Tool.tcpdump(directory.file("idle.pcap")).isEmpty)
        #expect(try Tool.run("/usr/bin/tcpdump", ["-r", directory.file("idle.pcap")]).status == 0)
    }

    @Test func sizeRotationNeverExceedsTheLimitAndKeepsEveryPacketInOrder() throws {
        let directory = TemporaryDirectory()
        let clock = ManualTimeSource(wallNanos: Self.midnight + 3_723 * Self.second)   // 01:02:03
        let finished = Finished()
        let maxBytes = 4_000
        let port = FilePort(name: "archive", settings: FilePortSettings(
            path: directory.file("archive.pcap"), rotation: FileRotation(maxBytes: maxBytes),
            timeSource: clock, onFileFinished: { finished.append($0) }))
        let packets = Traffic.ethernet(count: 30)   // includes a 9000-byte frame, larger than the limit
        try port.open(sources: [Traffic.source("eth0")])
        for packet in packets {
            try packet.write(to: port)
            clock.advance(nanos: Self.second / 4)
        }
        try port.close()

        let names = directory.names()
        #expect(names.allSatisfy { !$0.hasPrefix(".") }, "\(names)")
        let files = Self.rotated(names)
        #expect(files == names)
        #expect(files.count == 5, "\(files)")
        #expect(files.first == "archive-20260101T010203-000001.pcap")
        #expect(files == files.sorted())
        #expect(finished.paths == files.map { directory.file($0) })
        var readBack: [Tool.DumpedPacket] = []
        var layout: [Int] = []
        for file in files {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: directory.file(file))[.size] as? Int)
            let inFile = try Tool.tcpdump(directory.file(file))
            #expect(!inFile.isEmpty)
            #expect(size <= maxBytes || inFile.count == 1, "\(file) has \(size) bytes and \(inFile.count) packets")
            readBack += inFile
            layout.append(inFile.count)
        }
        // Files end only where the next record would not fit: 8 small, the 9000-byte frame
        // alone, 11, the next jumbo alone, the last 9.
        #expect(layout == [8, 1, 11, 1, 9])
        expectSamePackets(readBack.map(\.bytes), packets.map(\.bytes))
        expectSameTimestamps(readBack.map(\.timestampNanos), packets.map(\.timestampNanos))
    }

    @Test func sizeRotationFillsFilesUpToTheLimit() throws {
        let directory = TemporaryDirectory()
        // 24-byte header + records of 16 + 100 bytes: 3 records fit in 400 bytes (372), a fourth does not (488).
        let port = FilePort(name: "archive", settings: FilePortSettings(
            path: directory.file("archive.pcap"), rotation: FileRotation(maxBytes: 400),
            timeSource: ManualTimeSource()))
        try port.open(sources: [Traffic.source("eth0")])
        let packet = Traffic.ethernet(count: 10)[9]
        #expect(packet.bytes.count == 100)
        for _ in 0..<7 { try packet.write(to: port) }
        try port.close()
        let files = directory.names()
        #expect(files.count == 3)
        let counts = try files.map { try Tool.tcpdump(directory.file($0)).count }
        #expect(counts == [3, 3, 1])
        #expect(files.enumerated().allSatisfy { $0.element.hasSuffix("-00000\($0.offset + 1).pcap") }, "\(files)")
    }

    @Test func timeRotationFollowsTheClockOnAlignedBoundaries() throws {
        let directory = TemporaryDirectory()
        let clock = ManualTimeSource(wallNanos: Self.midnight + 30 * Self.second)   // 00:00:30
        let port = FilePort(name: "archive", settings: FilePortSettings(
            path: directory.file("logs/archive.pcap"), rotation: FileRotation(intervalSeconds: 60), timeSource: clock))
        let packets = Traffic.ethernet(count: 6)
        try port.open(sources: [Traffic.source("eth0")])
        try packets[0].write(to: port)
        try packets[1].write(to: port)
        clock.advance(nanos: 30 * Self.second - 1)                // 00:00:59.999999999
        try port.tick(wallNanos: clock.wallNanos())
        #expect(directory.names(under: "logs") == [".archive-20260101T000030-000001.pcap.part"])
        clock.advance(nanos: 1)                                    // 00:01:00: boundary, no packet
        try port.tick(wallNanos: clock.wallNanos())
        #expect(directory.names(under: "logs") == ["archive-20260101T000030-000001.pcap"])
        #expect(port.currentTemporaryPath == nil)
        for _ in 0..<25 {                                          // two idle minutes: no empty files
            clock.advance(nanos: 5 * Self.second)
            try port.tick(wallNanos: clock.wallNanos())
        }
        #expect(directory.names(under: "logs") == ["archive-20260101T000030-000001.pcap"])
        clock.advance(nanos: 65 * Self.second)                     // 00:04:10
        try packets[2].write(to: port)
        try packets[3].write(to: port)
        clock.advance(nanos: 50 * Self.second)                     // 00:05:00: crossed without a tick
        try packets[4].write(to: port)                             // the write itself rotates
        try packets[5].write(to: port)
        try port.close()

        let files = directory.names(under: "logs")
        #expect(files == [
            "archive-20260101T000030-000001.pcap",
            "archive-20260101T000410-000002.pcap",
            "archive-20260101T000500-000003.pcap",
        ])
        let contents = try files.map { try Tool.tcpdump(directory.file("logs/" + $0)).map(\.bytes) }
        #expect(contents == [[packets[0].bytes, packets[1].bytes], [packets[2].bytes, packets[3].bytes],
                             [packets[4].bytes, packets[5].bytes]])
    }

    @Test func rotatingPortThatSeesNoPacketLeavesNoFile() throws {
        let directory = TemporaryDirectory()
        let clock = ManualTimeSource()
        let port = FilePort(name: "archive", settings: FilePortSettings(
            path: directory.file("archive.pcapng"), rotation: FileRotation(intervalSeconds: 10), timeSource: clock))
        try port.open(sources: [Traffic.source("eth0")])
        #expect(directory.names().count == 1)   // the first file is opened eagerly (errors show at start)
        clock.advance(seconds: 15)
        try port.tick(wallNanos: clock.wallNanos())
        try port.close()
        #expect(directory.names().isEmpty)
    }

    @Test func keepDeletesOnlyThisPortsOldestFiles() throws {
        let directory = TemporaryDirectory()
        let unrelated = [
            "notes.txt",
            "archive.pcap",
            "archive-notes.pcap",
            "archive-20250101T000000-000001.pcap.bak",
            "xarchive-20250101T000000-000009.pcap",
            "archive-20250101T000000-00001.pcap",
            "archive-2025010xT000000-000001.pcap",
            "other-20250101T000000-000001.pcap",
            ".archive-20250101T000000-000002.pcap.part",
        ]
        for name in unrelated { FileManager.default.createFile(atPath: directory.file(name), contents: Data([7])) }
        // A file of an earlier run of this port: it is the oldest, so keep removes it first.
        FileManager.default.createFile(atPath: directory.file("archive-20250101T000000-000041.pcap"), contents: Data([7]))

        let clock = ManualTimeSource(wallNanos: Self.midnight)
        let port = FilePort(name: "archive", settings: FilePortSettings(
            path: directory.file("archive.pcap"), rotation: FileRotation(maxBytes: 200, keep: 3), timeSource: clock))
        try port.open(sources: [Traffic.source("eth0")])
        let packet = Traffic.ethernet(count: 10)[9]   // 116-byte record: one per file
        for _ in 0..<6 {
            try packet.write(to: port)
            clock.advance(seconds: 1)
        }
        try port.close()

        let names = directory.names()
        for name in unrelated { #expect(names.contains(name), "\(name) was deleted") }
        let ours = names.filter { !unrelated.contains($0) }
        // Sequence numbers continue after the earlier run's 41.
        #expect(ours == [
            "archive-20260101T000003-000045.pcap",
            "archive-20260101T000004-000046.pcap",
            "archive-20260101T000005-000047.pcap",
        ])
        #expect(port.finishedFiles == 6)
    }

    @Test func invalidRotationSettingsAreRefused() throws {
        let directory = TemporaryDirectory()
        let bad: [FileRotation] = [
            FileRotation(maxBytes: 0), FileRotation(intervalSeconds: -5), FileRotation(keep: 3),
            FileRotation(maxBytes: 100, keep: 0),
        ]
        for rotation in bad {
            let port = FilePort(name: "r", settings: FilePortSettings(path: directory.file("r.pcap"), rotation: rotation))
            #expect(throws: PortSetupError.self) { try port.open(sources: [Traffic.source("eth0")]) }
        }
        #expect(directory.names().isEmpty)
    }
}

/// Collects finished-file paths from the port's callback.
final class Finished: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ path: String) { lock.withLock { stored.append(path) } }
    var paths: [String] { lock.withLock { stored } }
}
