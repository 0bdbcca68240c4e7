import Foundation

/// The line format shared by the audit log and evidence manifests: one JSON object per line,
/// keys sorted, with `seq` (1, 2, …) and `prev` (SHA-256 hex of the previous line's exact bytes,
/// without its newline; 64 zeros before the first) beside the caller's fields.
public enum ChainRecord {
    /// The field names the chain itself uses; callers may not use them.
    public static let reservedFields: Set<String> = ["seq", "prev"]

    /// The line bytes (no newline) of a record with `fields` following `previous`.
    public static func encode(_ fields: [String: JSONValue], after previous: ChainHead) throws(ChainRecordError) -> [UInt8] {
        for key in reservedFields where fields[key] != nil {
            throw .reservedField(key)
        }
        var object = fields
        object["seq"] = .int(previous.seq + 1)
        object["prev"] = .string(previous.hash)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(JSONValue.object(object)))
        } catch {
            throw .unencodable(String(describing: error))
        }
    }

    /// The caller's fields of an `Encodable` value (which must encode as a JSON object).
    public static func fields(of value: some Encodable) throws(ChainRecordError) -> [String: JSONValue] {
        do {
            let data = try JSONEncoder().encode(value)
            guard case .object(let fields) = try JSONDecoder().decode(JSONValue.self, from: data) else {
                throw ChainRecordError.notAnObject
            }
            return fields
        } catch let error as ChainRecordError {
            throw error
        } catch {
            throw .unencodable(String(describing: error))
        }
    }

    /// The chain link of one line: its `seq` and `prev`, or why the line is not a record.
    public static func link(of line: some Collection<UInt8>) -> Result<(seq: Int64, prev: String), ChainRecordError> {
        if line.isEmpty { return .failure(.malformed("empty line")) }
        let link: Link
        do {
            link = try JSONDecoder().decode(Link.self, from: Data(line))
        } catch DecodingError.keyNotFound(let key, _) {
            return .failure(.malformed("no \"\(key.stringValue)\" field"))
        } catch DecodingError.typeMismatch(_, let context) {
            let field = context.codingPath.first?.stringValue ?? "line"
            return .failure(.malformed(field == "line" ? "not a JSON object" : "\"\(field)\" has the wrong type"))
        } catch {
            return .failure(.malformed("not valid JSON"))
        }
        guard link.seq >= 1 else { return .failure(.malformed("\"seq\" \(link.seq) is not positive")) }
        guard ChainHead.isHash(link.prev) else {
            return .failure(.malformed("\"prev\" is not 64 lowercase hex digits"))
        }
        return .success((link.seq, link.prev))
    }

    /// Every field of a record line, `seq` and `prev` included (for listing a log).
    public static func decode(line: some Collection<UInt8>) throws(ChainRecordError) -> [String: JSONValue] {
        guard case .success = link(of: line) else {
            if case .failure(let error) = link(of: line) { throw error }
            throw .malformed("not a chain record")
        }
        guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(line)) else {
            throw .malformed("not a JSON object")
        }
        return fields
    }

    /// SHA-256 hex of a line's bytes (without its newline): what the next record's `prev` holds.
    public static func hash(of line: some Sequence<UInt8>) -> String {
        SHA256Hex.digest(of: line)
    }
}

/// The two chain fields of a record line.
private struct Link: Decodable {
    var seq: Int64
    var prev: String
}

/// Why a record could not be written or read.
public enum ChainRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The caller used `seq` or `prev`, which the chain owns.
    case reservedField(String)
    /// The value could not be encoded as JSON.
    case unencodable(String)
    /// An `Encodable` record did not encode as a JSON object.
    case notAnObject
    /// A line is not a chain record.
    case malformed(String)

    public var description: String {
        switch self {
        case .reservedField(let name): return "the field \"\(name)\" is reserved for the hash chain"
        case .unencodable(let reason): return "the record cannot be encoded as JSON: \(reason)"
        case .notAnObject: return "the record does not encode as a JSON object"
        case .malformed(let reason): return reason
        }
    }
}
