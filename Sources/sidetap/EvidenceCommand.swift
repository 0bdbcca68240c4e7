import ArgumentParser
import Foundation
import SidetapEvidence

/// `sidetap evidence verify DIR` and `sidetap evidence show DIR`: check a capture directory
/// against its file ports' manifests, or list what the manifests record.
struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Check or list the hash-chained manifests file ports keep beside their captures.",
        subcommands: [Verify.self, Show.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify a capture directory: report changed, missing, added or reordered files and edited manifests.",
            discussion: """
                Checks every *.manifest in DIR: its hash chain (the audit log's verifier), then each file it lists \
                (present, same size, same SHA-256), then files no manifest lists. Files the manifest records as \
                removed by rotation are expected to be gone. One line per finding: MANIFEST:LINE: KIND: FILE: detail. \
                Exit status 0 when everything verifies, 1 otherwise.
                """)

        @Argument(help: "The directory a file port writes into.")
        var directory: String

        @Option(help: "A manifest head noted earlier (NAME.manifest=SEQ:HASH); the manifest must still contain that exact record. Repeatable.")
        var head: [String] = []

        func run() throws {
            var heads: [String: ChainHead] = [:]
            for text in head {
                guard let equals = text.lastIndex(of: "="), let parsed = ChainHead(parsing: String(text[text.index(after: equals)...])) else {
                    throw ValidationError("--head must be NAME.manifest=SEQ:HASH (64 hex digits), got '\(text)'")
                }
                heads[String(text[..<equals])] = parsed
            }
            let report: EvidenceReport
            do {
                report = try EvidenceVerifier.verify(directory: directory, expectedHeads: heads)
            } catch {
                print("\(directory): cannot verify: \(error)")
                throw ExitCode(1)
            }
            for manifest in report.manifests {
                let chain = manifest.chain
                let state = chain.isIntact ? "chain intact, \(chain.recordCount) records, head \(chain.head)"
                    : "chain broken after \(chain.recordCount) records"
                print("\(manifest.name): \(state)")
            }
            for name in report.inProgress { print("\(name): being written (not verified)") }
            print("files verified: \(report.verifiedFiles); removed by the port: \(report.removedFiles)")
            for finding in report.findings { print(finding) }
            if !report.isClean {
                print("\(directory): NOT intact: \(report.findings.count) finding\(report.findings.count == 1 ? "" : "s")")
                throw ExitCode(1)
            }
            print("\(directory): intact")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "List every entry of the manifests in a directory (no verification; use verify for that).")

        @Argument(help: "The directory a file port writes into.")
        var directory: String

        func run() throws {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
                    .filter { $0.hasSuffix(CaptureManifest.fileExtension) }.sorted()
            } catch {
                print("\(directory): cannot list: \(error.localizedDescription)")
                throw ExitCode(1)
            }
            for name in names {
                guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                    print("\(name): cannot read")
                    continue
                }
                for (index, line) in ChainLines(bytes: Array(data)).lines.enumerated() {
                    print("\(name):\(index + 1): \(Self.describe(line))")
                }
            }
        }

        static func describe(_ line: ArraySlice<UInt8>) -> String {
            guard let fields = try? ChainRecord.decode(line: line) else { return "(not a chain record)" }
            guard let entry = try? ManifestEntry(fields: fields) else { return "(not a manifest entry)" }
            let time = fields["time"]?.stringValue ?? "-"
            switch entry {
            case .open(let provenance, let format):
                return "\(time) open \(format): \(provenance.comment)"
            case .file(let file):
                let span = [file.firstPacketNanos, file.lastPacketNanos].compactMap { $0.map(EvidenceTime.iso(nanos:)) }.joined(separator: " .. ")
                return "\(time) file \(file.name): \(file.packets) packets, \(file.bytes) bytes, sha256 \(file.sha256)"
                    + (span.isEmpty ? "" : ", \(span)")
            case .removed(let name, let reason):
                return "\(time) removed \(name) (\(reason.rawValue))"
            }
        }
    }
}
