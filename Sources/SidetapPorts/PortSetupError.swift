import SidetapCore

/// Why a port could not be set up: settings or sources it cannot work with.
///
/// OS failures while opening (a directory that cannot be created, a file that cannot be
/// opened) are `SystemError`s with the path; this type covers everything else.
public enum PortSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The port was opened with no sources.
    case noSources(port: String)
    /// Classic pcap holds one link type, but the sources have several.
    case mixedLinkTypes(port: String, sources: [String], linkTypes: [LinkType])
    /// A setting is unusable; the text says which and why.
    case invalidSetting(port: String, reason: String)

    public var description: String {
        switch self {
        case .noSources(let port):
            return "port \(port): no sources to write"
        case .mixedLinkTypes(let port, let sources, let linkTypes):
            let pairs = zip(sources, linkTypes).map { "\($0.0) (\($0.1))" }.joined(separator: ", ")
            let distinct = Array(Set(linkTypes.map(\.description))).sorted().joined(separator: ", ")
            return "port \(port): format pcap holds a single link type, but the sources have "
                + "\(distinct): \(pairs); use format: pcapng, which keeps one interface per source"
        case .invalidSetting(let port, let reason):
            return "port \(port): \(reason)"
        }
    }
}
