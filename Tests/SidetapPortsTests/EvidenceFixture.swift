import Foundation
import SidetapCore
import SidetapEvidence
import SidetapPorts
import SidetapTestKit

/// A capture directory written by a real rotating file port with a manifest: 60 packets,
/// rotated at 4000 bytes, keeping the newest 4 files, so the manifest has file entries and
/// rotation removals.
final class EvidenceFixture {
    let directory = TemporaryDirectory()
    /// The files left, oldest first.
    let files: [String]
    /// The manifest's name and lines (without newlines).
    let manifest = "archive.manifest"
    let packets = Traffic.ethernet(count: 60)
    static let provenance = CaptureProvenance(port: "archive", sources: ["vnet0"], guests: ["web"], label: "SECRET", version: "Sidetap 9.9.9")

    init(keep: Int = 4) throws {
        let clock = ManualTimeSource(wallNanos: 1_767_225_600_000_000_000 + 3_723 * 1_000_000_000)
        let port = FilePort(name: "archive", settings: FilePortSettings(
            path: directory.file("archive.pcapng"), rotation: FileRotation(maxBytes: 4_000, keep: keep),
            sectionComment: "case 17", provenance: Self.provenance, manifest: true, timeSource: clock))
        try port.open(sources: [SourceDescription(name: "vnet0", guest: "web", linkType: .ethernet, snaplen: 65535, origin: "interface vnet0")])
        for packet in packets {
            try packet.write(to: port)
            clock.advance(nanos: 250_000_000)
        }
        try port.close()
        files = directory.names().filter { $0.hasSuffix(".pcapng") }
    }

    func path(_ name: String) -> String { directory.file(name) }

    var lines: [String] {
        get {
            let text = (try? String(contentsOfFile: path(manifest), encoding: .utf8)) ?? ""
            var lines = text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            return lines
        }
    }

    /// Rewrites the manifest with `lines` (each followed by a newline).
    func writeManifest(_ lines: [String]) throws {
        try Data((lines.map { $0 + "\n" }.joined()).utf8).write(to: URL(fileURLWithPath: path(manifest)))
    }

    /// The 1-based manifest line whose entry lists `file` (its `file` event).
    func line(listing file: String) -> Int? {
        lines.firstIndex { $0.contains("\"event\":\"file\"") && $0.contains("\"file\":\"\(file)\"") }.map { $0 + 1 }
    }

    /// SHA-256 of a file now.
    func sha256(_ name: String) throws -> String {
        try StreamingSHA256.digest(ofFileAt: path(name)).sha256
    }

    func verify(heads: [String: ChainHead] = [:]) throws -> EvidenceReport {
        try EvidenceVerifier.verify(directory: directory.path, expectedHeads: heads)
    }
}
