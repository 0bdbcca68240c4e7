/// Something a live interface source wants an operator to know, handed to the source's event
/// callback on the polling thread (the daemon logs it). Never per packet: only when the
/// capture's state changes.
public struct LiveSourceEvent: Sendable, Hashable, CustomStringConvertible {
    /// What happened.
    public enum Kind: String, Sendable, Hashable {
        /// The capture is running (first open or after a re-open).
        case opened
        /// The interface is not there (or down, or cannot be opened) and the source keeps trying.
        case waiting
        /// A running capture lost its interface (deleted, moved, down).
        case lost
        /// libpcap activated with a warning (PCAP_WARNING_*), or a similar non-fatal note.
        case warning
        /// A guest source found its guest's interfaces (again, or changed) and captures them.
        case resolved
    }

    public var kind: Kind
    /// The source's name.
    public var source: String
    /// The interface; empty for an event about a whole guest (`GuestSource`).
    public var interface: String
    /// The reason or details, in words.
    public var message: String

    public init(kind: Kind, source: String, interface: String, message: String) {
        self.kind = kind
        self.source = source
        self.interface = interface
        self.message = message
    }

    public var description: String {
        interface.isEmpty ? "source \(source): \(kind.rawValue): \(message)"
            : "source \(source) (interface \(interface)): \(kind.rawValue): \(message)"
    }
}

/// A live source that cannot be set up at all (no permission, a filter that does not compile).
public struct LiveSourceError: Error, Sendable, CustomStringConvertible {
    /// The interface.
    public var interface: String
    /// The reason, with libpcap's message.
    public var reason: String

    public init(interface: String, reason: String) {
        self.interface = interface
        self.reason = reason
    }

    public var description: String { "interface \(interface): \(reason)" }
}
