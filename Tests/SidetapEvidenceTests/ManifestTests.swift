import Foundation
import SidetapEvidence
import Testing

/// Manifest entries, their writer, the streaming digest, and the verifier on hand-made directories.
@Suite struct ManifestTests {
    static let file = ManifestFile(name: "a-20260101T000000-000001.pcap", firstPacketNanos: 1_767_225_600_123_456_789,
                                   lastPacketNanos: 1_767_225_601_000_000_007, packets: 12, bytes: 4096,
                                   sha256: String(repeating: "ab", count: 32))

    @Test func streamingDigestMatchesTheOneShotDigestAndTheFileDigest() throws {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hasher = StreamingSHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 4096, 30_000] {
            bytes[offset..<(offset + size)].withUnsafeBytes { hasher.update($0) }
            offset += size
        }
        bytes[offset...].withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalize() == SHA256Hex.digest(of: bytes))
        #expect(StreamingSHA256().finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("f")))
        let digest = try StreamingSHA256.digest(ofFileAt: directory.file("f"))
        #expect(digest.sha256 == SHA256Hex.digest(of: bytes))
        #expect(digest.size == 100_000)
        #expect(throws: (any Error).self) { try StreamingSHA256.digest(ofFileAt: directory.file("absent")) }
    }

    @Test func isoTimesCarryNanoseconds() {
        #expect(EvidenceTime.iso(nanos: 1_767_225_600_123_456_789) == "2026-01-01T00:00:00.123456789Z")
        #expect(EvidenceTime.iso(nanos: 0) == "1970-01-01T00:00:00.000000000Z")
        #expect(EvidenceTime.iso(nanos: -1) == "1969-12-31T23:59:59.999999999Z")
    }

    @Test func entriesRoundTripThroughTheirFields() throws {
        let provenance = CaptureProvenance(port: "archive", sources: ["vnet0", "vnet1"], guests: ["web"], label: "SECRET", version: "Sidetap 1.2.3")
        let entries: [ManifestEntry] = [
            .open(provenance, format: "pcapng"),
            .file(Self.file),
            .file(ManifestFile(name: "idle.pcap", firstPacketNanos: nil, lastPacketNanos: nil, packets: 0, bytes: 24,
                               sha256: String(repeating: "0", count: 64))),
            .removed(name: "old.pcap", reason: .rotation),
            .removed(name: "x.pcap", reason: .replaced),
        ]
        for entry in entries {
            let fields = entry.fields(wallNanos: 5)
            #expect(fields["time"] == "1970-01-01T00:00:00.000000005Z")
            #expect(try ManifestEntry(fields: fields) == entry)
        }
        let fields = ManifestEntry.file(Self.file).fields(wallNanos: 0)
        #expect(fields["first"] == "2026-01-01T00:00:00.123456789Z")
        #expect(fields["last_ns"] == .int(1_767_225_601_000_000_007))
        #expect(provenance.comment == "Sidetap 1.2.3; port archive; sources vnet0, vnet1; guests web; label SECRET")
        #expect(CaptureProvenance(port: "p", sources: [], version: "Sidetap 1").comment == "Sidetap 1; port p; sources -")
    }

    @Test func badEntriesNameTheFieldThatIsWrong() {
        var fields = ManifestEntry.file(Self.file).fields(wallNanos: 0)
        func reason(_ fields: [String: JSONValue]) -> String? {
            do {
                _ = try ManifestEntry(fields: fields)
                return nil
            } catch {
                return error.reason
            }
        }
        fields["file"] = "../etc/passwd"
        #expect(reason(fields) == "\"file\" '../etc/passwd' is not a plain file name")
        fields["file"] = "ok.pcap"
        fields["sha256"] = "ABC"
        #expect(reason(fields) == "\"sha256\" is not 64 lowercase hex digits")
        fields["sha256"] = .string(String(repeating: "0", count: 64))
        fields["packets"] = "many"
        #expect(reason(fields) == "no \"packets\" count")
        fields["event"] = "erased"
        #expect(reason(fields) == "unknown event 'erased'")
        #expect(reason(["event": "removed", "file": "a", "reason": "whim"]) == "unknown removal reason 'whim'")
    }

    @Test func manifestAndAuditStyleLogGoThroughTheSameVerifier() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let manifest = try CaptureManifest(path: CaptureManifest.path(directory: directory.path + "/", port: "p"))
        try manifest.record(.file(Self.file), wallNanos: 1)
        let head = try manifest.record(.removed(name: Self.file.name, reason: .rotation), wallNanos: 2)
        #expect(head.seq == 2)
        #expect(manifest.head == head)
        let audit = try ChainedLog(path: directory.file("audit.jsonl"))
        try audit.append(["kind": "request", "outcome": "allowed"])
        for path in [directory.file("p.manifest"), directory.file("audit.jsonl")] {
            let result = try ChainVerifier.verify(fileAt: path)
            #expect(result.isIntact, "\(path): \(result)")
        }
        #expect(try ChainVerifier.verify(fileAt: directory.file("p.manifest"), expectedHead: head).isIntact)
        // The manifest continues its chain when opened again.
        let again = try CaptureManifest(path: directory.file("p.manifest"))
        #expect(try again.record(.removed(name: "other", reason: .rotation), wallNanos: 3).seq == 3)
        #expect(try ChainVerifier.verify(fileAt: directory.file("p.manifest")).recordCount == 3)
    }

    /// A directory with one manifest listing `files` (name → bytes), written through `CaptureManifest`.
    static func directory(files: [(String, [UInt8])], extra: [ManifestEntry] = []) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        let manifest = try CaptureManifest(path: directory.file("port.manifest"))
        for (name, bytes) in files {
            try Data(bytes).write(to: URL(fileURLWithPath: directory.file(name)))
            try manifest.record(.file(ManifestFile(name: name, firstPacketNanos: nil, lastPacketNanos: nil, packets: 0,
                                                   bytes: Int64(bytes.count), sha256: SHA256Hex.digest(of: bytes))), wallNanos: 0)
        }
        for entry in extra { try manifest.record(entry, wallNanos: 0) }
        return directory
    }

    @Test func verifierOnHandMadeDirectories() throws {
        let clean = try Self.directory(files: [("a", [1]), ("b", [2, 2])])
        defer { clean.cleanUp() }
        // A file being written is listed, not reported; a subdirectory is ignored.
        try Data([9]).write(to: URL(fileURLWithPath: clean.file(".c.part")))
        try FileManager.default.createDirectory(atPath: clean.file("sub"), withIntermediateDirectories: false)
        let report = try EvidenceVerifier.verify(directory: clean.path)
        #expect(report.isClean, "\(report.findings)")
        #expect(report.verifiedFiles == 2)
        #expect(report.inProgress == [".c.part"])

        // A name listed twice without a removal between.
        let twice = try Self.directory(files: [("a", [1])], extra: [.file(ManifestFile(
            name: "a", firstPacketNanos: nil, lastPacketNanos: nil, packets: 0, bytes: 1, sha256: SHA256Hex.digest(of: [1])))])
        defer { twice.cleanUp() }
        #expect(try EvidenceVerifier.verify(directory: twice.path).findings.map(\.description)
                == ["port.manifest:2: entry: a: listed again without a removal; already listed at port.manifest:1"])

        // A record that links but is no manifest entry.
        let odd = try Self.directory(files: [("a", [1])])
        defer { odd.cleanUp() }
        try ChainedLog(path: odd.file("port.manifest")).append(["event": "shredded", "file": "a"])
        #expect(try EvidenceVerifier.verify(directory: odd.path).findings.map(\.description)
                == ["port.manifest:2: entry: not a manifest entry: unknown event 'shredded'"])

        // No manifest at all, and a missing directory.
        let empty = try TemporaryDirectory()
        defer { empty.cleanUp() }
        #expect(try EvidenceVerifier.verify(directory: empty.path).findings.map(\.kind) == [.manifest])
        #expect(throws: (any Error).self) { try EvidenceVerifier.verify(directory: empty.file("nowhere")) }
        // A head given for a manifest that is not there.
        let heads = ["gone.manifest": ChainHead(seq: 1, hash: String(repeating: "1", count: 64))]
        #expect(try EvidenceVerifier.verify(directory: clean.path, expectedHeads: heads).findings.map(\.description)
                == ["gone.manifest: manifest: a head was given for this manifest, but it is missing"])
    }
}
