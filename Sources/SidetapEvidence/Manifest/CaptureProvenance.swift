/// Where a port's captures come from: written into every pcapng file's section comment and
/// into the port's manifest when it opens, so a file found on its own still says what it is.
public struct CaptureProvenance: Sendable, Hashable {
    /// The port that writes the files.
    public var port: String
    /// The sources feeding the port, in config order.
    public var sources: [String]
    /// The guests those sources belong to (each named once, in source order).
    public var guests: [String]
    /// The sensitivity label of what the port carries, when labels are configured.
    public var label: String?
    /// The Sidetap version that wrote the files ("Sidetap 0.4.0").
    public var version: String

    public init(port: String, sources: [String], guests: [String] = [], label: String? = nil, version: String) {
        self.port = port
        self.sources = sources
        self.guests = guests
        self.label = label
        self.version = version
    }

    /// One line for a pcapng section comment:
    /// `Sidetap 0.4.0; port archive; sources vnet0, vnet1; guests web; label SECRET`.
    public var comment: String {
        var parts = [version, "port \(port)", "sources " + (sources.isEmpty ? "-" : sources.joined(separator: ", "))]
        if !guests.isEmpty { parts.append("guests " + guests.joined(separator: ", ")) }
        if let label { parts.append("label \(label)") }
        return parts.joined(separator: "; ")
    }

    /// The manifest fields of the port's `open` entry.
    var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "port": .string(port),
            "sources": .array(sources.map { .string($0) }),
            "guests": .array(guests.map { .string($0) }),
            "version": .string(version),
        ]
        if let label { fields["label"] = .string(label) }
        return fields
    }
}
