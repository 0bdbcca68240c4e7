import Foundation
import SidetapCore
import SidetapEvidence
import SidetapPorts
import Testing

/// A rotating file port's manifest, then every kind of tampering with its directory, each
/// reported precisely by `EvidenceVerifier`.
@Suite struct EvidenceTamperTests {
    @Test func untouchedDirectoryVerifiesAndTheManifestDescribesEveryFile() throws {
        let fixture = try EvidenceFixture()
        #expect(fixture.files.count == 4, "\(fixture.files)")
        let report = try fixture.verify()
        #expect(report.isClean, "\(report.findings)")
        #expect(report.verifiedFiles == 4)
        #expect(report.removedFiles >= 1)
        #expect(report.manifests.map(\.name) == ["archive.manifest"])
        #expect(report.manifests.first?.chain.isIntact == true)

        // The first entry is the opening with the provenance.
        let lines = fixture.lines
        let open = try ManifestEntry(fields: ChainRecord.decode(line: Array(lines[0].utf8)))
        #expect(open == .open(EvidenceFixture.provenance, format: "pcapng"))
        // Each remaining file's entry: packet count and first/last time as tcpdump reads them.
        for name in fixture.files {
            let line = try #require(fixture.line(listing: name))
            guard case .file(let file) = try ManifestEntry(fields: ChainRecord.decode(line: Array(lines[line - 1].utf8))) else {
                Issue.record("line \(line) is not a file entry")
                continue
            }
            let dumped = try Tool.tcpdump(fixture.path(name))
            #expect(file.packets == Int64(dumped.count))
            #expect(file.firstPacketNanos == dumped.first?.timestampNanos)
            #expect(file.lastPacketNanos == dumped.last?.timestampNanos)
            let attributes = try FileManager.default.attributesOfItem(atPath: fixture.path(name))
            #expect(file.bytes == (attributes[.size] as? Int).map(Int64.init))
            let contents = try Data(contentsOf: URL(fileURLWithPath: fixture.path(name)))
            #expect(file.sha256 == SHA256Hex.digest(of: contents))
        }
        // Every file rotation deleted has a removal entry; every file the port wrote has a file entry.
        let removed = lines.filter { $0.contains("\"event\":\"removed\"") && $0.contains("\"reason\":\"rotation\"") }
        let listed = lines.filter { $0.contains("\"event\":\"file\"") }
        #expect(removed.count == report.removedFiles)
        #expect(listed.count == removed.count + 4)
        #expect(lines[lines.count - 1].contains("\"event\":\"removed\""))
    }

    @Test func changedFileBytesAreReportedWithExpectedAndActualHash() throws {
        let fixture = try EvidenceFixture()
        let name = fixture.files[1]
        let before = try fixture.sha256(name)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: fixture.path(name))))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: fixture.path(name)))
        let after = try fixture.sha256(name)

        let findings = try fixture.verify().findings
        #expect(findings.count == 1, "\(findings)")
        let finding = try #require(findings.first)
        #expect(finding.kind == .changed)
        #expect(finding.file == name)
        #expect(finding.manifest == "archive.manifest")
        #expect(finding.line == fixture.line(listing: name))
        #expect(finding.detail == "sha256 expected \(before), actual \(after)")
    }

    @Test func appendedBytesReportTheSizeToo() throws {
        let fixture = try EvidenceFixture()
        let name = fixture.files[3]
        let size = try #require(try FileManager.default.attributesOfItem(atPath: fixture.path(name))[.size] as? Int)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fixture.path(name)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3]))
        try handle.close()
        let findings = try fixture.verify().findings
        #expect(findings.count == 1)
        #expect(findings.first?.kind == .changed)
        #expect(findings.first?.detail.hasPrefix("size expected \(size) bytes, actual \(size + 3); sha256 expected ") == true)
    }

    @Test func missingFileIsReportedButRotationRemovalsAreNot() throws {
        let fixture = try EvidenceFixture()
        let name = fixture.files[2]
        try FileManager.default.removeItem(atPath: fixture.path(name))
        let findings = try fixture.verify().findings
        #expect(findings.count == 1, "\(findings)")
        #expect(findings.first?.kind == .missing)
        #expect(findings.first?.file == name)
        #expect(findings.first?.line == fixture.line(listing: name))
        #expect(findings.first?.detail.contains("no entry records its removal") == true)
    }

    @Test func addedFileIsReported() throws {
        let fixture = try EvidenceFixture()
        try Data([0xD4, 0xC3, 0xB2, 0xA1]).write(to: URL(fileURLWithPath: fixture.path("planted.pcap")))
        let findings = try fixture.verify().findings
        #expect(findings.map(\.description) == ["added: planted.pcap: no manifest lists it"])
    }

    @Test func aFileRotationRemovedThatReappearsIsReported() throws {
        let fixture = try EvidenceFixture()
        let removal = try #require(fixture.lines.firstIndex { $0.contains("\"event\":\"removed\"") })
        let fields = try ChainRecord.decode(line: Array(fixture.lines[removal].utf8))
        let name = try #require(fields["file"]?.stringValue)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: fixture.path(name)))
        let findings = try fixture.verify().findings
        #expect(findings.count == 1)
        #expect(findings.first?.kind == .added)
        #expect(findings.first?.detail == "archive.manifest:\(removal + 1) records its removal (rotation), yet it is present")
    }

    @Test func swappedFileNamesAreReportedAsReorderedNotChanged() throws {
        let fixture = try EvidenceFixture()
        let (a, b) = (fixture.files[0], fixture.files[1])
        try FileManager.default.moveItem(atPath: fixture.path(a), toPath: fixture.path("swap"))
        try FileManager.default.moveItem(atPath: fixture.path(b), toPath: fixture.path(a))
        try FileManager.default.moveItem(atPath: fixture.path("swap"), toPath: fixture.path(b))
        let findings = try fixture.verify().findings
        #expect(findings.count == 2, "\(findings)")
        #expect(findings.allSatisfy { $0.kind == .reordered })
        #expect(findings.map(\.file) == [a, b])
        let lineB = try #require(fixture.line(listing: b))
        #expect(findings.first?.detail.hasPrefix("holds the contents that archive.manifest:\(lineB) lists for \(b) (the two names were swapped)") == true)
    }

    @Test func filesShiftedOneNameAlongAreReportedAsReordered() throws {
        let fixture = try EvidenceFixture()
        let names = Array(fixture.files.prefix(3))
        // name0 ← name1's bytes, name1 ← name2's bytes, name2 ← name0's bytes.
        let contents = try names.map { try Data(contentsOf: URL(fileURLWithPath: fixture.path($0))) }
        for index in names.indices {
            try contents[(index + 1) % names.count].write(to: URL(fileURLWithPath: fixture.path(names[index])))
        }
        let findings = try fixture.verify().findings
        #expect(findings.map(\.kind) == [.reordered, .reordered, .reordered], "\(findings)")
        for (index, finding) in findings.enumerated() {
            let owner = names[(index + 1) % names.count]
            #expect(finding.detail.contains("lists for \(owner);"), "\(finding)")
            #expect(!finding.detail.contains("swapped"))
        }
    }

    @Test func renamedFileIsMissingUnderItsNameAndAddedUnderTheNewOne() throws {
        let fixture = try EvidenceFixture()
        let name = fixture.files[1]
        try FileManager.default.moveItem(atPath: fixture.path(name), toPath: fixture.path("innocent.pcapng"))
        let findings = try fixture.verify().findings
        #expect(findings.map(\.kind) == [.missing, .added])
        #expect(findings[0].detail.hasSuffix("its contents are in the unlisted file innocent.pcapng"))
        #expect(findings[1].detail.hasSuffix("its contents are those archive.manifest:\(fixture.line(listing: name)!) lists for \(name)"))
    }

    @Test func editedManifestLineIsReportedByTheChainAtThatLine() throws {
        let fixture = try EvidenceFixture()
        var lines = fixture.lines
        let target = try #require(fixture.line(listing: fixture.files[2]))
        let edited = lines[target - 1].replacingOccurrences(of: "\"packets\":", with: "\"packets\":1")
        #expect(edited != lines[target - 1])
        lines[target - 1] = edited
        try fixture.writeManifest(lines)
        let findings = try fixture.verify().findings
        #expect(findings.count == 1, "\(findings)")
        #expect(findings.first?.kind == .manifest)
        #expect(findings.first?.line == target)
        #expect(findings.first?.detail.hasPrefix("edited-record at line \(target)") == true, "\(findings)")
    }

    @Test func editedHashInTheManifestIsReportedTwice() throws {
        // The chain breaks at the line, and the file no longer matches what the line says.
        let fixture = try EvidenceFixture()
        var lines = fixture.lines
        let name = fixture.files[0]
        let target = try #require(fixture.line(listing: name))
        let real = try fixture.sha256(name)
        let forged = String(repeating: "a", count: 64)
        lines[target - 1] = lines[target - 1].replacingOccurrences(of: real, with: forged)
        try fixture.writeManifest(lines)
        let findings = try fixture.verify().findings
        #expect(findings.map(\.kind) == [.manifest, .changed], "\(findings)")
        #expect(findings[0].line == target)
        #expect(findings[1].line == target)
        #expect(findings[1].detail == "sha256 expected \(forged), actual \(real)")
    }

    @Test func reorderedManifestEntriesAreReported() throws {
        let fixture = try EvidenceFixture()
        var lines = fixture.lines
        let first = try #require(fixture.line(listing: fixture.files[1]))
        let second = try #require(fixture.line(listing: fixture.files[2]))
        lines.swapAt(first - 1, second - 1)
        try fixture.writeManifest(lines)
        let findings = try fixture.verify().findings
        #expect(findings.count == 1, "\(findings)")
        #expect(findings.first?.kind == .manifest)
        #expect(findings.first?.line == first)
        #expect(findings.first?.detail.hasPrefix("reordered-records at line \(first)") == true, "\(findings)")
    }

    @Test func manifestTruncatedMidLineIsATornTail() throws {
        let fixture = try EvidenceFixture()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture.path(fixture.manifest)))
        try bytes.prefix(bytes.count - 20).write(to: URL(fileURLWithPath: fixture.path(fixture.manifest)))
        let count = fixture.lines.count
        let findings = try fixture.verify().findings
        let chain = try #require(findings.first)
        #expect(chain.kind == .manifest)
        #expect(chain.line == count)
        #expect(chain.detail.hasPrefix("torn-tail at line \(count)"), "\(chain)")
    }

    @Test func manifestCutByWholeLinesLeavesFilesUnlistedAndRemovalsUnrecorded() throws {
        let fixture = try EvidenceFixture()
        let head = try #require(try fixture.verify().manifests.first?.chain.head)
        // The last two lines: the newest file's entry, then the removal keep-N made after it.
        let lines = fixture.lines
        #expect(fixture.line(listing: fixture.files[3]) == lines.count - 1)
        let removed = try #require(try ChainRecord.decode(line: Array(lines[lines.count - 1].utf8))["file"]?.stringValue)
        let removedEntry = try #require(fixture.line(listing: removed))
        try fixture.writeManifest(Array(lines.dropLast(2)))
        let findings = try fixture.verify().findings
        #expect(findings.map(\.kind) == [.missing, .added], "\(findings)")
        #expect(findings.first?.file == removed)
        #expect(findings.first?.line == removedEntry)
        #expect(findings.last?.file == fixture.files[3])
        // Against the head noted before, the cut is named as such.
        let noted = try fixture.verify(heads: ["archive.manifest": head]).findings
        #expect(noted.first?.kind == .manifest)
        #expect(noted.first?.detail.hasPrefix("truncated-tail") == true, "\(noted)")
    }

    @Test func portStartedAgainOnTheSamePathRecordsTheReplacement() throws {
        let directory = TemporaryDirectory()
        for round in 0..<2 {
            let port = FilePort(name: "single", settings: FilePortSettings(path: directory.file("single.pcap"), manifest: true))
            try port.open(sources: [Traffic.source("eth0")])
            for packet in Traffic.ethernet(count: 3 + round) { try packet.write(to: port) }
            try port.close()
            #expect(port.manifestPath == directory.file("single.manifest"))
        }
        let report = try EvidenceVerifier.verify(directory: directory.path)
        #expect(report.isClean, "\(report.findings)")
        #expect(report.verifiedFiles == 1)
        let text = try String(contentsOfFile: directory.file("single.manifest"), encoding: .utf8)
        #expect(text.contains("\"event\":\"removed\",\"file\":\"single.pcap\""))
        #expect(text.contains("\"reason\":\"replaced\""))
    }

    @Test func sectionCommentNamesTheProvenanceForTshark() throws {
        let fixture = try EvidenceFixture()
        let info = try Tool.run("/usr/bin/capinfos", [fixture.path(fixture.files[0])])
        #expect(info.status == 0)
        #expect(info.standardOutput.contains("Capture comment:     Sidetap 9.9.9; port archive; sources vnet0; guests web; label SECRET"),
                "\(info.standardOutput)")
        #expect(info.standardOutput.contains("Capture comment:     case 17"))
        #expect(info.standardOutput.contains("Description = interface vnet0, guest web"), "\(info.standardOutput)")
    }

    @Test func withoutAManifestNothingButCapturesIsWritten() throws {
        let directory = TemporaryDirectory()
        let port = FilePort(name: "plain", settings: FilePortSettings(path: directory.file("plain.pcap")))
        try port.open(sources: [Traffic.source("eth0")])
        try Traffic.ethernet(count: 2)[0].write(to: port)
        try port.close()
        #expect(directory.names() == ["plain.pcap"])
        #expect(port.manifestPath == nil)
    }
}
