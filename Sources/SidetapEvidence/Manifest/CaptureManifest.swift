/// A file port's manifest: a hash-chained JSON-lines log (the audit log's `ChainedLog` format)
/// beside the port's files, named `<port>.manifest`, with one entry per file the port finished
/// or removed. `EvidenceVerifier` checks the directory against it.
///
/// Each entry is synced to disk before `record` returns. Opening continues an existing
/// manifest's chain, so a port started again appends to the same record.
public final class CaptureManifest: Sendable {
    /// The manifest's file-name extension.
    public static let fileExtension = ".manifest"

    /// The log underneath.
    public let log: ChainedLog

    /// The manifest path of port `port` writing into `directory` (a prefix: "" or ending in "/").
    public static func path(directory: String, port: String) -> String {
        directory + port + fileExtension
    }

    /// Opens (creating, mode 0600) the manifest at `path`. A manifest whose last line was
    /// torn by a crash is refused, naming the offset: verify it, then truncate it there.
    public init(path: String) throws(ChainedLogError) {
        log = try ChainedLog(path: path, syncEachRecord: true)
    }

    /// Appends `entry`, stamped with `wallNanos`; returns the new chain head.
    @discardableResult
    public func record(_ entry: ManifestEntry, wallNanos: Int64) throws(ChainedLogError) -> ChainHead {
        try log.append(entry.fields(wallNanos: wallNanos))
    }

    /// The last entry's chain point (`seq:hash`), for an operator to note elsewhere.
    public var head: ChainHead { log.head }
}
