/// A problem in a rules file or in a port's rule options, with its position.
///
/// `description` reads `file:line:column: reason` (or `file:line: reason` when no column
/// applies, as for libpcap's messages about a whole expression, or `file: reason` for a
/// port-level problem).
public struct RulesError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rules file (its path as given in `PortRules.rulesFile`).
    public var file: String
    /// 1-based line, or 0 for a problem with the port itself (its options, its count).
    public var line: Int
    /// 1-based column of the offending text, or nil when the whole line or file is meant.
    public var column: Int?
    /// What kind of problem it is.
    public var kind: Kind
    /// The human-readable reason.
    public var reason: String

    public init(file: String, line: Int, column: Int?, kind: Kind, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.kind = kind
        self.reason = reason
    }

    public var description: String {
        var position = file
        if line > 0 { position += ":\(line)" }
        if let column, line > 0 { position += ":\(column)" }
        return "\(position): \(reason)"
    }

    /// The kinds of rules errors. A struct over names rather than an enum, so adding a kind
    /// does not break callers that switch over it.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let unknownAction = Kind("unknown action")
        public static let unknownMatch = Kind("unknown match")
        public static let badCIDR = Kind("bad CIDR")
        public static let badPrefixLength = Kind("bad prefix length")
        public static let portOutOfRange = Kind("port out of range")
        public static let badPortNumber = Kind("bad port number")
        public static let invertedRange = Kind("inverted range")
        public static let badProtocol = Kind("bad protocol")
        public static let badVLAN = Kind("bad vlan")
        public static let unknownFlag = Kind("unknown flag")
        public static let contradictoryFlags = Kind("contradictory flags")
        public static let badDirection = Kind("bad direction")
        public static let badSample = Kind("bad sample")
        public static let badSlice = Kind("bad slice")
        public static let missingValue = Kind("missing value")
        public static let unterminatedQuote = Kind("unterminated quote")
        public static let unknownSource = Kind("unknown source")
        public static let unknownGuest = Kind("unknown guest")
        public static let badPcapExpression = Kind("bad pcap expression")
        public static let duplicateOption = Kind("duplicate option")
        public static let optionOnReject = Kind("option on reject rule")
        public static let unexpectedText = Kind("unexpected text")
        /// Output-port-level problems: too many ports, duplicate names, bad per-port sample/slice.
        public static let badPortConfig = Kind("bad port config")
    }
}
