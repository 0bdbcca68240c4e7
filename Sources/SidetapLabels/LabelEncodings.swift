/// The label vocabulary of one installation, read from a label-encodings file (in the spirit
/// of a trusted OS's `label_encodings`): classifications with ordered values and long and
/// short names, compartments as numbered bits with names, and optionally named combinations.
/// When the file names combinations, they are the only labels a configuration may use.
///
/// ```
/// # classification VALUE LONG-NAME [SHORT-NAME]
/// classification 0  UNCLASSIFIED U
/// classification 20 SECRET       S
/// # compartment BIT LONG-NAME [SHORT-NAME]      (BIT 0–127)
/// compartment 0 ALPHA A
/// # combination NAME = LABEL
/// combination OPS = SECRET ALPHA
/// ```
/// Names are case-insensitive and unique across the file. See docs/security.md, "Labels".
public struct LabelEncodings: Sendable, Hashable {
    /// A classification level.
    public struct Classification: Sendable, Hashable {
        public var value: Int
        public var name: String
        public var shortName: String?
        /// The line it was declared on.
        public var line: Int
    }

    /// A compartment: one bit of a label's compartment set.
    public struct Compartment: Sendable, Hashable {
        public var bit: Int
        public var name: String
        public var shortName: String?
        public var line: Int
    }

    /// A named valid label.
    public struct Combination: Sendable, Hashable {
        public var name: String
        public var label: Label
        public var line: Int
    }

    /// The file it was read from.
    public var file: String
    /// Ascending by value.
    public private(set) var classifications: [Classification]
    /// Ascending by bit.
    public private(set) var compartments: [Compartment]
    public private(set) var combinations: [Combination]

    /// The lowest label: the lowest classification and no compartment ("system low").
    public var lowest: Label { Label(classification: classifications.first?.value ?? 0) }

    /// The highest label: the highest classification and every declared compartment ("system high").
    public var highest: Label {
        Label(classification: classifications.last?.value ?? 0, compartments: CompartmentSet(compartments.map(\.bit)))
    }

    /// Reads an encodings file's text; every problem names `file`, the line and the reason.
    public init(parsing text: String, file: String) throws(LabelError) {
        self.file = file
        classifications = []
        compartments = []
        combinations = []
        var names: [String: Int] = [:]   // uppercased name → line
        func claim(_ name: String, line: Int) throws(LabelError) {
            guard Self.validName(name) else {
                throw LabelError(file: file, line: line, reason: "'\(name)' is not a valid name (letters, digits, '-' and '_', starting with a letter, at most 64)")
            }
            if let first = names[name.uppercased()] {
                throw LabelError(file: file, line: line, reason: "the name '\(name)' is already declared at line \(first)")
            }
            names[name.uppercased()] = line
        }
        var pendingCombinations: [(name: String, text: String, line: Int)] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var content = Substring(rawLine)
            if let hash = content.firstIndex(of: "#") { content = content[..<hash] }
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let keyword = words.first else { continue }
            switch keyword.lowercased() {
            case "classification":
                guard words.count == 3 || words.count == 4 else {
                    throw LabelError(file: file, line: lineNumber, reason: "expected 'classification VALUE LONG-NAME [SHORT-NAME]'")
                }
                guard let value = Int(words[1]), (0...65_535).contains(value) else {
                    throw LabelError(file: file, line: lineNumber, reason: "a classification value must be a whole number between 0 and 65535, got '\(words[1])'")
                }
                if let other = classifications.first(where: { $0.value == value }) {
                    throw LabelError(file: file, line: lineNumber, reason: "classification value \(value) is already used by \(other.name) at line \(other.line)")
                }
                try claim(words[2], line: lineNumber)
                if words.count == 4 { try claim(words[3], line: lineNumber) }
                classifications.append(Classification(value: value, name: words[2], shortName: words.count == 4 ? words[3] : nil, line: lineNumber))
            case "compartment":
                guard words.count == 3 || words.count == 4 else {
                    throw LabelError(file: file, line: lineNumber, reason: "expected 'compartment BIT LONG-NAME [SHORT-NAME]'")
                }
                guard let bit = Int(words[1]), (0..<CompartmentSet.capacity).contains(bit) else {
                    throw LabelError(file: file, line: lineNumber, reason: "a compartment bit must be a whole number between 0 and \(CompartmentSet.capacity - 1), got '\(words[1])'")
                }
                if let other = compartments.first(where: { $0.bit == bit }) {
                    throw LabelError(file: file, line: lineNumber, reason: "compartment bit \(bit) is already used by \(other.name) at line \(other.line)")
                }
                try claim(words[2], line: lineNumber)
                if words.count == 4 { try claim(words[3], line: lineNumber) }
                compartments.append(Compartment(bit: bit, name: words[2], shortName: words.count == 4 ? words[3] : nil, line: lineNumber))
            case "combination":
                guard words.count >= 4, words[2] == "=" else {
                    throw LabelError(file: file, line: lineNumber, reason: "expected 'combination NAME = CLASSIFICATION [COMPARTMENT ...]'")
                }
                try claim(words[1], line: lineNumber)
                pendingCombinations.append((words[1], words[3...].joined(separator: " "), lineNumber))
            default:
                throw LabelError(file: file, line: lineNumber, reason: "unknown keyword '\(keyword)': expected classification, compartment or combination")
            }
        }
        guard !classifications.isEmpty else {
            throw LabelError(file: file, line: 0, reason: "no classification is declared: the file needs at least one 'classification VALUE NAME' line")
        }
        classifications.sort { $0.value < $1.value }
        compartments.sort { $0.bit < $1.bit }
        for pending in pendingCombinations {
            switch parseWithoutCombinations(pending.text) {
            case .success(let label): combinations.append(Combination(name: pending.name, label: label, line: pending.line))
            case .failure(let problem):
                throw LabelError(file: file, line: pending.line, reason: "combination \(pending.name): \(problem.reason)")
            }
        }
    }

    /// A problem with a label's text (the caller adds where it was written).
    public struct TextProblem: Error, Sendable, Hashable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Reads a label's text: a classification (long or short name) followed by compartment
    /// names, e.g. `SECRET ALPHA BRAVO` or `S A B`, or the name of a combination. When the file
    /// declares combinations, the label must be one of them.
    public func parse(_ text: String) -> Result<Label, TextProblem> {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if words.count == 1, let combination = combinations.first(where: { $0.name.uppercased() == words[0].uppercased() }) {
            return .success(combination.label)
        }
        let parsed = parseWithoutCombinations(text)
        guard case .success(let label) = parsed, !combinations.isEmpty else { return parsed }
        if combinations.contains(where: { $0.label == label }) { return .success(label) }
        let valid = combinations.map(\.name).joined(separator: ", ")
        return .failure(TextProblem(reason: "'\(text)' (\(describe(label))) is not one of the valid combinations this encodings file declares (\(valid))"))
    }

    func parseWithoutCombinations(_ text: String) -> Result<Label, TextProblem> {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.uppercased() }
        guard let first = words.first else {
            return .failure(TextProblem(reason: "a label needs a classification, e.g. '\(classifications.first?.name ?? "NAME")'"))
        }
        guard let classification = classifications.first(where: { $0.name.uppercased() == first || $0.shortName?.uppercased() == first }) else {
            let known = classifications.map(\.name).joined(separator: ", ")
            return .failure(TextProblem(reason: "'\(first)' is not a classification (known: \(known))"))
        }
        var set = CompartmentSet()
        for word in words.dropFirst() {
            guard let compartment = compartments.first(where: { $0.name.uppercased() == word || $0.shortName?.uppercased() == word }) else {
                let known = compartments.isEmpty ? "none declared" : "known: " + compartments.map(\.name).joined(separator: ", ")
                return .failure(TextProblem(reason: "'\(word)' is not a compartment (\(known))"))
            }
            set.insert(compartment.bit)
        }
        return .success(Label(classification: classification.value, compartments: set))
    }

    /// The label in long names: `SECRET ALPHA BRAVO`.
    public func describe(_ label: Label) -> String {
        let level = classifications.first(where: { $0.value == label.classification })?.name ?? "level-\(label.classification)"
        let names = label.compartments.members.map { bit in compartments.first(where: { $0.bit == bit })?.name ?? "bit-\(bit)" }
        return ([level] + names).joined(separator: " ")
    }

    static func validName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter, name.count <= 64 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}
