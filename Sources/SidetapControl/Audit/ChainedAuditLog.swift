import SidetapEvidence

/// The audit log on disk: one JSON line per entry in a SHA-256 hash chain (`ChainedLog`), so
/// `sidetap audit verify` finds any edited, removed, inserted or reordered record.
///
/// Each entry is synced to disk before the action it records goes ahead.
public final class ChainedAuditLog: AuditSink {
    public let log: ChainedLog

    /// Opens (or creates, mode 0600) the log at `path`, continuing its chain. A log whose last
    /// line was torn by a crash is refused with the offset to truncate at, after verifying.
    public init(path: String) throws(ChainedLogError) {
        log = try ChainedLog(path: path, syncEachRecord: true)
    }

    public func append(_ entry: AuditEntry) throws {
        _ = try log.append(encoding: entry)
    }

    /// The chain head (`seq:hash`) to note elsewhere, so a truncated tail can be detected.
    public var head: ChainHead { log.head }
}
