import Logging

/// Chooses the process's log handler once: journal lines with syslog priorities when standard
/// error goes to the systemd journal, swift-log's stream handler (timestamped) otherwise.
public enum LogBootstrap {
    /// Where log lines go.
    public enum Destination: Sendable, Equatable {
        /// The systemd journal (`JournalLogHandler`).
        case journal
        /// A terminal or file (`StreamLogHandler` on standard error).
        case standardError
    }

    /// The destination for this process's standard error.
    public static var detected: Destination { JournalStream.standardErrorIsJournal ? .journal : .standardError }

    /// A handler factory for `LoggingSystem.bootstrap`.
    public static func factory(_ destination: Destination) -> @Sendable (String) -> any LogHandler {
        switch destination {
        case .journal: return { JournalLogHandler(label: $0) }
        case .standardError: return { StreamLogHandler.standardError(label: $0) }
        }
    }
}
