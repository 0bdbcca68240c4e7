/// Why a capture file could not be used as a source: the path and the reason (libpcap's own
/// message when libpcap refused the file).
public struct FileSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What went wrong, for example libpcap's "unknown file format".
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
