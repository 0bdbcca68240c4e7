#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SidetapCore
import SidetapEvidence

/// A file port's side of its manifest (`<port>.manifest` beside its files): records the port's
/// opening with its provenance, each finished file, and each file it removes. Used on the
/// port's worker thread only; nothing here is on the per-packet path.
final class FileManifestRecorder {
    let manifest: CaptureManifest
    let path: String
    private let timeSource: any TimeSource

    /// Opens the manifest of port `port` in `directory` and records the opening.
    init(directory: String, port: String, provenance: CaptureProvenance, format: CaptureFormat,
         timeSource: any TimeSource) throws(ChainedLogError) {
        path = CaptureManifest.path(directory: directory, port: port)
        manifest = try CaptureManifest(path: path)
        self.timeSource = timeSource
        try manifest.record(.open(provenance, format: format.rawValue), wallNanos: timeSource.wallNanos())
    }

    /// Records a file renamed to its final name. `digest` is the SHA-256 taken while it was
    /// written, or nil when it must be read back (after a failed write cut the file back).
    func recordFinished(name: String, finalPath: String, digest: String?, bytes: Int64, packets: Int,
                        firstNanos: Int64, lastNanos: Int64) throws(PortWriteError) {
        var sha256 = digest ?? ""
        var size = bytes
        if digest == nil {
            do {
                (sha256, size) = try StreamingSHA256.digest(ofFileAt: finalPath)
            } catch {
                throw PortWriteError(code: error.code, operation: "manifest digest")
            }
        }
        let file = ManifestFile(
            name: name, firstPacketNanos: packets > 0 ? firstNanos : nil, lastPacketNanos: packets > 0 ? lastNanos : nil,
            packets: Int64(packets), bytes: size, sha256: sha256)
        try record(.file(file))
    }

    /// Records that the port removed (or is about to replace) the file `name`.
    func recordRemoval(of name: String, reason: RemovalReason) throws(PortWriteError) {
        try record(.removed(name: name, reason: reason))
    }

    private func record(_ entry: ManifestEntry) throws(PortWriteError) {
        do {
            try manifest.record(entry, wallNanos: timeSource.wallNanos())
        } catch {
            if case .system(let system) = error { throw PortWriteError(code: system.code, operation: "manifest") }
            throw PortWriteError(code: EIO, operation: "manifest")
        }
    }
}
