#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SidetapCore

/// Checks a capture directory against the manifests in it (`*.manifest`, written by file
/// ports): each manifest's hash chain through `ChainVerifier` — the routine that checks the
/// control channel's audit log — then every file each manifest lists (present, same size,
/// same SHA-256), then every file present that no manifest lists.
///
/// A file that a manifest records as removed (rotation's keep-N, or replaced by a new file of
/// the same name) is expected to be gone. Hidden `.NAME.part` files are files a port is still
/// writing; they are listed, not reported.
public enum EvidenceVerifier {
    /// Verifies `directory`. `expectedHeads` maps a manifest's file name to a head noted
    /// earlier (`seq:hash`), which catches entries cut from its end. Throws only when the
    /// directory cannot be listed.
    public static func verify(directory: String, expectedHeads: [String: ChainHead] = [:]) throws(SystemError) -> EvidenceReport {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder) else {
            throw SystemError(code: ENOENT, operation: "list directory", path: directory)
        }
        guard isFolder.boolValue else { throw SystemError(code: ENOTDIR, operation: "list directory", path: directory) }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory).sorted() else {
            throw SystemError(code: EACCES, operation: "list directory", path: directory)
        }
        let files = names.filter { !isDirectory(prefix + $0) }
        var report = EvidenceReport()
        var listing = Listing()
        let manifests = files.filter { $0.hasSuffix(CaptureManifest.fileExtension) }
        if manifests.isEmpty {
            report.findings.append(EvidenceFinding(kind: .manifest, detail: "no *\(CaptureManifest.fileExtension) file in \(directory)"))
        }
        for (name, _) in expectedHeads.sorted(by: { $0.key < $1.key }) where !manifests.contains(name) {
            report.findings.append(EvidenceFinding(kind: .manifest, manifest: name, detail: "a head was given for this manifest, but it is missing"))
        }
        for manifest in manifests {
            read(manifest: manifest, at: prefix + manifest, expectedHead: expectedHeads[manifest], into: &report, listing: &listing)
        }
        checkFiles(in: prefix, present: Set(files), manifests: Set(manifests), listing: listing, into: &report)
        return report
    }

    /// Where a file is listed: manifest, line, entry.
    struct Listed {
        var manifest: String
        var line: Int
        var file: ManifestFile
    }

    /// Where a removal is recorded.
    struct Removal {
        var manifest: String
        var line: Int
        var reason: RemovalReason
    }

    /// The entries of every manifest, by file name.
    struct Listing {
        var live: [String: Listed] = [:]
        var removed: [String: Removal] = [:]
    }

    static func read(manifest: String, at path: String, expectedHead: ChainHead?, into report: inout EvidenceReport, listing: inout Listing) {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            report.findings.append(EvidenceFinding(kind: .manifest, manifest: manifest, detail: "cannot be read: \(error.localizedDescription)"))
            return
        }
        let chain = ChainVerifier.verify(bytes: bytes, expectedHead: expectedHead)
        report.manifests.append(.init(name: manifest, chain: chain))
        if let problem = chain.problem {
            report.findings.append(EvidenceFinding(kind: .manifest, manifest: manifest, line: problem.line, detail: problem.description))
        }
        for (index, line) in ChainLines(bytes: bytes).lines.enumerated() {
            let number = index + 1
            // A line that is not a chain record was reported by the chain check.
            guard let fields = try? ChainRecord.decode(line: line) else { continue }
            let entry: ManifestEntry
            do {
                entry = try ManifestEntry(fields: fields)
            } catch {
                report.findings.append(EvidenceFinding(kind: .entry, manifest: manifest, line: number, detail: "not a manifest entry: \(error)"))
                continue
            }
            switch entry {
            case .open:
                break
            case .file(let file):
                if let earlier = listing.live[file.name] {
                    report.findings.append(EvidenceFinding(
                        kind: .entry, manifest: manifest, line: number, file: file.name,
                        detail: "listed again without a removal; already listed at \(earlier.manifest):\(earlier.line)"))
                }
                listing.removed[file.name] = nil
                listing.live[file.name] = Listed(manifest: manifest, line: number, file: file)
            case .removed(let name, let reason):
                // A removal may name a file from before the manifest existed (keep-N, replaced).
                listing.live[name] = nil
                listing.removed[name] = Removal(manifest: manifest, line: number, reason: reason)
            }
        }
    }

    static func checkFiles(in prefix: String, present: Set<String>, manifests: Set<String>, listing: Listing, into report: inout EvidenceReport) {
        report.removedFiles = listing.removed.count
        var digests: [String: (sha256: String, size: Int64)] = [:]
        func digest(_ name: String) -> (sha256: String, size: Int64)? {
            if let known = digests[name] { return known }
            guard let value = try? StreamingSHA256.digest(ofFileAt: prefix + name) else { return nil }
            digests[name] = value
            return value
        }
        // Which entry lists a given content, to tell renamed or swapped files from changed ones.
        var listedByHash: [String: [Listed]] = [:]
        for listed in listing.live.values { listedByHash[listed.file.sha256, default: []].append(listed) }
        let ordered = listing.live.values.sorted { ($0.manifest, $0.line) < ($1.manifest, $1.line) }
        for listed in ordered {
            let file = listed.file
            func finding(_ kind: EvidenceFinding.Kind, _ detail: String) -> EvidenceFinding {
                EvidenceFinding(kind: kind, manifest: listed.manifest, line: listed.line, file: file.name, detail: detail)
            }
            guard present.contains(file.name) else {
                var detail = "listed (\(file.bytes) bytes, sha256 \(file.sha256)) but not in the directory, and no entry records its removal"
                if let holder = present.sorted().first(where: { !manifests.contains($0) && listing.live[$0] == nil && digest($0)?.sha256 == file.sha256 }) {
                    detail += "; its contents are in the unlisted file \(holder)"
                }
                report.findings.append(finding(.missing, detail))
                continue
            }
            guard let actual = digest(file.name) else {
                report.findings.append(finding(.changed, "cannot be read"))
                continue
            }
            if actual.sha256 == file.sha256 && actual.size == file.bytes {
                report.verifiedFiles += 1
                continue
            }
            if let owner = listedByHash[actual.sha256]?.first(where: { $0.file.name != file.name }) {
                let swapped = digest(owner.file.name)?.sha256 == file.sha256
                let detail = "holds the contents that \(owner.manifest):\(owner.line) lists for \(owner.file.name)"
                    + (swapped ? " (the two names were swapped)" : "")
                    + "; expected sha256 \(file.sha256), actual \(actual.sha256)"
                report.findings.append(finding(.reordered, detail))
                continue
            }
            var differences: [String] = []
            if actual.size != file.bytes { differences.append("size expected \(file.bytes) bytes, actual \(actual.size)") }
            differences.append("sha256 expected \(file.sha256), actual \(actual.sha256)")
            report.findings.append(finding(.changed, differences.joined(separator: "; ")))
        }
        for name in present.sorted() where !manifests.contains(name) && listing.live[name] == nil {
            if name.hasPrefix("."), name.hasSuffix(".part") {
                report.inProgress.append(name)
                continue
            }
            var detail = "no manifest lists it"
            if let removal = listing.removed[name] {
                detail = "\(removal.manifest):\(removal.line) records its removal (\(removal.reason.rawValue)), yet it is present"
            } else if let actual = digest(name), let owner = listedByHash[actual.sha256]?.first {
                detail += "; its contents are those \(owner.manifest):\(owner.line) lists for \(owner.file.name)"
            }
            report.findings.append(EvidenceFinding(kind: .added, file: name, detail: detail))
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }
}
