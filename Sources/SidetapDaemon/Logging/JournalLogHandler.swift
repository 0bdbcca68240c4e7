import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler for a service whose standard error goes to the systemd journal: each
/// line starts with its syslog priority (`<3>` for an error, sd-daemon(3)'s prefixes), so
/// `journalctl -p warning` filters it, and carries no timestamp (the journal adds its own).
///
/// `<6>sidetap: engine started sidetap.ports=5 sidetap.sources=1`
///
/// A message of several lines is written as several lines, each with the prefix.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    let write: @Sendable (String) -> Void

    /// A handler writing to standard error.
    public init(label: String) {
        self.init(label: label) { StandardError.write($0) }
    }

    /// A handler handing each finished record (one or more lines) to `write`.
    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority of a swift-log level (trace and debug are both `debug`).
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        write(Self.format(label: label, level: event.level, message: "\(event.message)", metadata: merged))
    }

    /// The record as written: `<N>label: message key=value …`, keys sorted, one prefix per line.
    public static func format(label: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var text = message
        for key in metadata.keys.sorted() {
            text += " \(key)=\(metadata[key].map { "\($0)" } ?? "")"
        }
        let prefix = "<\(priority(level))>\(label.isEmpty ? "" : label + ": ")"
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 + "\n" }.joined()
    }
}
