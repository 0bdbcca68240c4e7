/// A capture file a port finished, as its manifest records it.
public struct ManifestFile: Sendable, Hashable {
    /// The file's name, relative to the manifest's directory.
    public var name: String
    /// Timestamp of the first and last packet in the file (nil when it holds none).
    public var firstPacketNanos: Int64?
    public var lastPacketNanos: Int64?
    /// Packets in the file.
    public var packets: Int64
    /// The file's size in bytes.
    public var bytes: Int64
    /// SHA-256 of the file's bytes, 64 lowercase hex digits.
    public var sha256: String

    public init(name: String, firstPacketNanos: Int64?, lastPacketNanos: Int64?, packets: Int64, bytes: Int64, sha256: String) {
        self.name = name
        self.firstPacketNanos = firstPacketNanos
        self.lastPacketNanos = lastPacketNanos
        self.packets = packets
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// Why a port removed a file it had recorded.
public enum RemovalReason: String, Sendable, Hashable, CaseIterable {
    /// Rotation's keep-newest-N deleted it.
    case rotation
    /// A new file with the same name replaced it (a port without rotation, started again).
    case replaced
}

/// One record of a capture manifest (besides the chain's own `seq` and `prev`).
///
/// Lines look like (keys sorted, one line each):
/// `{"event":"open","format":"pcapng","guests":["web"],"port":"archive","prev":"…","seq":1,"sources":["vnet0"],"time":"…","version":"Sidetap 0.4.0"}`
/// `{"bytes":4096,"event":"file","file":"archive-20260101T000000-000001.pcapng","first":"…","first_ns":…,"last":"…","last_ns":…,"packets":12,"prev":"…","seq":2,"sha256":"…","time":"…"}`
/// `{"event":"removed","file":"archive-20260101T000000-000001.pcapng","prev":"…","reason":"rotation","seq":9,"time":"…"}`
public enum ManifestEntry: Sendable, Hashable {
    /// The port opened: where its packets come from and the format it writes.
    case open(CaptureProvenance, format: String)
    /// The port finished a file (renamed to its final name).
    case file(ManifestFile)
    /// The port deleted or replaced a file it had recorded.
    case removed(name: String, reason: RemovalReason)

    /// The record's fields, stamped with `wallNanos` (when it was written).
    public func fields(wallNanos: Int64) -> [String: JSONValue] {
        var fields: [String: JSONValue] = ["time": .string(EvidenceTime.iso(nanos: wallNanos))]
        switch self {
        case .open(let provenance, let format):
            fields.merge(provenance.fields) { _, new in new }
            fields["event"] = "open"
            fields["format"] = .string(format)
        case .file(let file):
            fields["event"] = "file"
            fields["file"] = .string(file.name)
            fields["packets"] = .int(file.packets)
            fields["bytes"] = .int(file.bytes)
            fields["sha256"] = .string(file.sha256)
            if let first = file.firstPacketNanos {
                fields["first_ns"] = .int(first)
                fields["first"] = .string(EvidenceTime.iso(nanos: first))
            }
            if let last = file.lastPacketNanos {
                fields["last_ns"] = .int(last)
                fields["last"] = .string(EvidenceTime.iso(nanos: last))
            }
        case .removed(let name, let reason):
            fields["event"] = "removed"
            fields["file"] = .string(name)
            fields["reason"] = .string(reason.rawValue)
        }
        return fields
    }

    /// Reads a record's fields back; throws a sentence naming the field that is wrong.
    public init(fields: [String: JSONValue]) throws(ManifestEntryError) {
        func string(_ key: String) throws(ManifestEntryError) -> String {
            guard let value = fields[key]?.stringValue, !value.isEmpty else { throw ManifestEntryError(reason: "no \"\(key)\" text") }
            return value
        }
        func integer(_ key: String) throws(ManifestEntryError) -> Int64 {
            guard let value = fields[key]?.intValue, value >= 0 else { throw ManifestEntryError(reason: "no \"\(key)\" count") }
            return value
        }
        func strings(_ key: String) -> [String] {
            guard case .array(let values)? = fields[key] else { return [] }
            return values.compactMap(\.stringValue)
        }
        switch try string("event") {
        case "open":
            let provenance = CaptureProvenance(
                port: try string("port"), sources: strings("sources"), guests: strings("guests"),
                label: fields["label"]?.stringValue, version: try string("version"))
            self = .open(provenance, format: try string("format"))
        case "file":
            let name = try string("file")
            guard ManifestEntry.isPlainName(name) else { throw ManifestEntryError(reason: "\"file\" '\(name)' is not a plain file name") }
            let sha256 = try string("sha256")
            guard ChainHead.isHash(sha256) else { throw ManifestEntryError(reason: "\"sha256\" is not 64 lowercase hex digits") }
            self = .file(ManifestFile(
                name: name, firstPacketNanos: fields["first_ns"]?.intValue, lastPacketNanos: fields["last_ns"]?.intValue,
                packets: try integer("packets"), bytes: try integer("bytes"), sha256: sha256))
        case "removed":
            let name = try string("file")
            guard ManifestEntry.isPlainName(name) else { throw ManifestEntryError(reason: "\"file\" '\(name)' is not a plain file name") }
            let reasonText = try string("reason")
            guard let reason = RemovalReason(rawValue: reasonText) else {
                throw ManifestEntryError(reason: "unknown removal reason '\(reasonText)'")
            }
            self = .removed(name: name, reason: reason)
        case let other:
            throw ManifestEntryError(reason: "unknown event '\(other)'")
        }
    }

    /// True for a name with no directory part (files live beside their manifest).
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }
}

/// Why a chain record is not a manifest entry.
public struct ManifestEntryError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
