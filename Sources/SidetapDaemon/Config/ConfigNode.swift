import Yams

/// A YAML node with its place in the file, and typed accessors whose errors carry that place.
///
/// Mapping readers record which keys were read; `finish()` reports every key nobody asked
/// for, so a misspelt key is an error rather than a silently ignored setting.
struct ConfigNode {
    let node: Node
    let file: String

    var line: Int { node.mark?.line ?? 0 }
    var column: Int { node.mark?.column ?? 0 }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, message: message)
    }

    var string: String? {
        guard case .scalar(let scalar) = node else { return nil }
        return scalar.string
    }

    func requireString(_ what: String) throws(ConfigError) -> String {
        guard let s = string, !s.isEmpty else { throw error("\(what) must be a non-empty string") }
        return s
    }

    func requireInt(_ what: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let s = string, let value = Int(s.trimmingSpaces) else { throw error("\(what) must be an integer, got \(describe)") }
        guard range.contains(value) else { throw error("\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
        return value
    }

    func requireChoice<T>(_ what: String, _ choices: [(String, T)]) throws(ConfigError) -> T {
        let s = string ?? ""
        if let match = choices.first(where: { $0.0 == s }) { return match.1 }
        throw error("\(what) must be one of \(choices.map(\.0).joined(separator: ", ")), got \(describe)")
    }

    func requireSequence(_ what: String) throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("\(what) must be a list") }
        return sequence.map { ConfigNode(node: $0, file: file) }
    }

    func requireMapping(_ what: String, keys: [String]) throws(ConfigError) -> MappingReader {
        guard case .mapping(let mapping) = node else { throw error("\(what) must be a mapping (key: value)") }
        return try MappingReader(mapping: mapping, file: file, what: what, allowed: keys, owner: self)
    }

    /// A short rendering of the value for error messages.
    var describe: String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// Reads the keys of one YAML mapping; unknown and duplicate keys are errors with their place.
struct MappingReader {
    let owner: ConfigNode
    let file: String
    let what: String
    private var values: [String: ConfigNode] = [:]

    init(mapping: Node.Mapping, file: String, what: String, allowed: [String], owner: ConfigNode) throws(ConfigError) {
        self.owner = owner
        self.file = file
        self.what = what
        for (key, value) in mapping {
            let keyNode = ConfigNode(node: key, file: file)
            guard let name = keyNode.string else { throw keyNode.error("keys in \(what) must be strings") }
            guard allowed.contains(name) else {
                let hint = Self.closest(name, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                throw keyNode.error("unknown key '\(name)' in \(what)\(hint); allowed: \(allowed.joined(separator: ", "))")
            }
            guard values[name] == nil else { throw keyNode.error("duplicate key '\(name)' in \(what)") }
            values[name] = ConfigNode(node: value, file: file)
        }
    }

    subscript(key: String) -> ConfigNode? { values[key] }

    func require(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let node = values[key] else { throw owner.error("\(what) needs '\(key)'") }
        return node
    }

    /// The allowed key nearest to a misspelling (edit distance ≤ 2), for the error hint.
    static func closest(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var current = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                previous = current
            }
            return previous[b.count]
        }
        let w = Array(word)
        return candidates.map { ($0, distance(w, Array($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }
}
