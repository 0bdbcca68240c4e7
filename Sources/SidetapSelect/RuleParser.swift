import SidetapCore

/// Parses the text of one rules file into `RuleSyntax` values (grammar in docs/rules.md).
///
/// Checks everything that can be checked without the source list or libpcap: actions,
/// match keywords, CIDRs, ports, VLANs, flags, options.
struct RuleParser {
    /// Path shown in errors.
    let file: String

    /// Match keywords, in the order error messages list them.
    static let matchKeywords = [
        "any", "tcp", "udp", "icmp", "icmp6", "sctp", "ip", "ip6", "proto",
        "src", "dst", "host", "sport", "dport", "port", "vlan", "flags",
        "direction", "source", "guest", "pcap",
    ]
    static let optionKeywords = ["sample", "slice"]
    static let actions = ["accept", "reject"]

    func parse(_ text: String) throws(RulesError) -> [RuleSyntax] {
        var rules: [RuleSyntax] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let tokens: [RuleToken]
            do {
                tokens = try RuleLexer.tokens(of: line)
            } catch {
                throw RulesError(file: file, line: lineNumber, column: error.column, kind: .unterminatedQuote, reason: error.reason)
            }
            if tokens.isEmpty { continue }
            var cursor = LineCursor(file: file, line: lineNumber, tokens: tokens)
            rules.append(try cursor.parseRule())
        }
        return rules
    }
}

/// Walks the tokens of one line.
struct LineCursor {
    let file: String
    let line: Int
    let tokens: [RuleToken]
    var index = 0

    init(file: String, line: Int, tokens: [RuleToken]) {
        self.file = file
        self.line = line
        self.tokens = tokens
    }

    func error(_ kind: RulesError.Kind, _ column: Int?, _ reason: String) -> RulesError {
        RulesError(file: file, line: line, column: column, kind: kind, reason: reason)
    }

    /// Column just past the last token, for a value missing at the end of the line.
    var endColumn: Int {
        guard let last = tokens.last else { return 1 }
        return last.column + last.text.count + (last.quoted ? 2 : 0)
    }

    static func isKeyword(_ text: String) -> Bool {
        text == "not" || RuleParser.matchKeywords.contains(text) || RuleParser.optionKeywords.contains(text)
    }

    mutating func parseRule() throws(RulesError) -> RuleSyntax {
        let first = tokens[0]
        guard !first.quoted, RuleParser.actions.contains(first.text) else {
            throw error(.unknownAction, first.column, "unknown action '\(first.text)' (expected accept or reject)")
        }
        var rule = RuleSyntax(line: line, accept: first.text == "accept", terms: [], sample: nil, slice: nil, text: "")
        index = 1
        var sampleColumn = 0
        var sliceColumn = 0
        while index < tokens.count {
            let token = tokens[index]
            if token.quoted {
                throw error(.unexpectedText, token.column, "unexpected string \"\(token.text)\" (a quoted string follows only 'pcap')")
            }
            switch token.text {
            case "sample":
                if sampleColumn != 0 { throw error(.duplicateOption, token.column, "duplicate option 'sample' (first given at column \(sampleColumn))") }
                sampleColumn = token.column
                rule.sample = try parseSample(after: token)
            case "slice":
                if sliceColumn != 0 { throw error(.duplicateOption, token.column, "duplicate option 'slice' (first given at column \(sliceColumn))") }
                sliceColumn = token.column
                rule.slice = try parseSlice(after: token)
            case "not":
                index += 1
                guard index < tokens.count else {
                    throw error(.missingValue, endColumn, "missing match after 'not'")
                }
                let next = tokens[index]
                if !next.quoted, RuleParser.optionKeywords.contains(next.text) || next.text == "not" {
                    throw error(.unexpectedText, next.column, "'not' must be followed by a match, not '\(next.text)'")
                }
                var term = try parseMatch()
                term.negated = true
                term.column = token.column
                rule.terms.append(term)
            default:
                rule.terms.append(try parseMatch())
            }
        }
        if !rule.accept {
            if sampleColumn != 0 { throw error(.optionOnReject, sampleColumn, "option 'sample' applies only to accept rules") }
            if sliceColumn != 0 { throw error(.optionOnReject, sliceColumn, "option 'slice' applies only to accept rules") }
        }
        rule.text = tokens.map { $0.quoted ? "\"" + escape($0.text) + "\"" : $0.text }.joined(separator: " ")
        return rule
    }

    func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "\\" || character == "\"" { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// Parses the match at `index` and moves past it.
    mutating func parseMatch() throws(RulesError) -> TermSyntax {
        let token = tokens[index]
        index += 1
        let column = token.column
        func term(_ match: MatchSyntax) -> TermSyntax { TermSyntax(negated: false, column: column, match: match) }
        switch token.text {
        case "any": return term(.any)
        case "tcp": return term(.ipProtocol(version: 0, number: IPProtocolNumber.tcp))
        case "udp": return term(.ipProtocol(version: 0, number: IPProtocolNumber.udp))
        case "sctp": return term(.ipProtocol(version: 0, number: IPProtocolNumber.sctp))
        case "icmp": return term(.ipProtocol(version: 4, number: IPProtocolNumber.icmp))
        case "icmp6": return term(.ipProtocol(version: 6, number: IPProtocolNumber.icmpv6))
        case "ip": return term(.ipVersion(4))
        case "ip6": return term(.ipVersion(6))
        case "proto":
            let value = try requireValue(after: token, expecting: "a protocol number 0–255")
            guard let number = UInt8(value.text) else {
                throw error(.badProtocol, value.column, "bad protocol '\(value.text)' (expected a number 0–255)")
            }
            return term(.ipProtocol(version: 0, number: number))
        case "src", "dst", "host":
            let endpoint: Endpoint = token.text == "src" ? .source : token.text == "dst" ? .destination : .either
            let items = try readList(after: token, expecting: "a CIDR list such as 10.0.0.0/8,2001:db8::/32")
            var networks: [CIDR] = []
            for item in items { networks.append(try parseCIDR(item)) }
            return term(.address(endpoint, networks))
        case "sport", "dport", "port":
            let endpoint: Endpoint = token.text == "sport" ? .source : token.text == "dport" ? .destination : .either
            let items = try readList(after: token, expecting: "a port list such as 80,443,8000-8080")
            var ranges: [ClosedRange<UInt16>] = []
            for item in items { ranges.append(try parsePortRange(item)) }
            return term(.port(endpoint, ranges))
        case "vlan":
            let items = try readList(after: token, expecting: "a VLAN list such as 100,200 or 'none'")
            if items.count == 1, items[0].name == "none" { return term(.untagged) }
            var ids: [UInt16] = []
            for item in items {
                guard item.name.allSatisfy(\.isASCIIDigitCharacter), let id = UInt16(item.name), id <= 4095 else {
                    throw error(.badVLAN, item.column, "bad vlan '\(item.name)' (expected a VLAN ID 0–4095, a list of them, or 'none')")
                }
                ids.append(id)
            }
            return term(.vlan(ids))
        case "flags":
            let items = try readList(after: token, expecting: "TCP flags such as syn,!ack")
            var set: TCPFlags = []
            var clear: TCPFlags = []
            for item in items {
                let negated = item.name.hasPrefix("!")
                let name = negated ? String(item.name.dropFirst()) : item.name
                guard let flag = TCPFlags.names.first(where: { $0.0 == name })?.1 else {
                    let known = TCPFlags.names.map(\.0).joined(separator: ", ")
                    throw error(.unknownFlag, item.column, "unknown flag '\(item.name)' (expected one of \(known), each optionally prefixed by '!')")
                }
                if negated ? set.contains(flag) : clear.contains(flag) {
                    throw error(.contradictoryFlags, item.column, "flag '\(name)' is required both set and clear")
                }
                if negated { clear.insert(flag) } else { set.insert(flag) }
            }
            return term(.tcpFlags(set: set, clear: clear))
        case "direction":
            let value = try requireValue(after: token, expecting: "in or out")
            switch value.text {
            case "in": return term(.direction(.inbound))
            case "out": return term(.direction(.outbound))
            default: throw error(.badDirection, value.column, "bad direction '\(value.text)' (expected in or out)")
            }
        case "source":
            return term(.source(try readList(after: token, expecting: "a source name list")))
        case "guest":
            return term(.guest(try readList(after: token, expecting: "a guest name list")))
        case "pcap":
            guard index < tokens.count else {
                throw error(.missingValue, endColumn, "missing value after 'pcap' (expected a quoted pcap-filter expression)")
            }
            let value = tokens[index]
            guard value.quoted else {
                throw error(.missingValue, value.column, "missing value after 'pcap' (expected a quoted pcap-filter expression, found '\(value.text)')")
            }
            index += 1
            return term(.pcap(value.text))
        default:
            var reason = "unknown match '\(token.text)' (expected one of \(RuleParser.matchKeywords.joined(separator: ", ")), or an option: \(RuleParser.optionKeywords.joined(separator: ", ")))"
            if let guess = Self.closest(token.text, among: RuleParser.matchKeywords + RuleParser.optionKeywords) {
                reason += "; did you mean '\(guess)'?"
            }
            throw error(.unknownMatch, column, reason)
        }
    }

    /// The next token as a plain value; a missing value or a keyword in its place is an error.
    mutating func requireValue(after keyword: RuleToken, expecting: String) throws(RulesError) -> RuleToken {
        guard index < tokens.count else {
            throw error(.missingValue, endColumn, "missing value after '\(keyword.text)' (expected \(expecting))")
        }
        let value = tokens[index]
        if value.quoted || Self.isKeyword(value.text) {
            throw error(.missingValue, value.column, "missing value after '\(keyword.text)' (expected \(expecting), found '\(value.text)')")
        }
        index += 1
        return value
    }

    /// A comma-separated list; blanks after a comma continue it (`80, 443`).
    mutating func readList(after keyword: RuleToken, expecting: String) throws(RulesError) -> [NamedValue] {
        var items: [NamedValue] = []
        var token = try requireValue(after: keyword, expecting: expecting)
        while true {
            var elementStart = token.column
            var current = ""
            var column = token.column
            for character in token.text {
                if character == "," {
                    guard !current.isEmpty else {
                        throw error(.missingValue, column, "missing value in the list after '\(keyword.text)' (empty element)")
                    }
                    items.append(NamedValue(name: current, column: elementStart))
                    current = ""
                    elementStart = column + 1
                } else {
                    current.append(character)
                }
                column += 1
            }
            if !current.isEmpty {
                items.append(NamedValue(name: current, column: elementStart))
                break
            }
            // The token ended with a comma: the list goes on in the next token.
            guard index < tokens.count, !tokens[index].quoted, !Self.isKeyword(tokens[index].text) else {
                throw error(.missingValue, column, "missing value in the list after '\(keyword.text)' (trailing comma)")
            }
            token = tokens[index]
            index += 1
        }
        return items
    }

    func parseCIDR(_ item: NamedValue) throws(RulesError) -> CIDR {
        let parts = item.name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else {
            throw error(.badCIDR, item.column, "bad CIDR '\(item.name)' (expected an IPv4 or IPv6 address, optionally /prefix)")
        }
        let version: UInt8 = address.isIPv4 && !parts[0].contains(":") ? 4 : 6
        let full = version == 4 ? 32 : 128
        var length = full
        if parts.count == 2 {
            let text = parts[1]
            guard !text.isEmpty, text.count <= 3, text.allSatisfy(\.isASCIIDigitCharacter), let value = Int(text), value <= full else {
                throw error(.badPrefixLength, item.column + parts[0].count + 1,
                            "bad prefix length '\(text)' in '\(item.name)' (IPv\(version) allows 0–\(full))")
            }
            length = value
        }
        let network = CIDR(version: version, network: address, prefixLength: length)
        if network.hasHostBits {
            throw error(.badCIDR, item.column, "bad CIDR '\(item.name)': host bits set beyond /\(length) (did you mean \(network.masked)?)")
        }
        return network
    }

    func parsePortRange(_ item: NamedValue) throws(RulesError) -> ClosedRange<UInt16> {
        let parts = item.name.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        var bounds: [UInt16] = []
        var column = item.column
        for part in parts {
            guard !part.isEmpty, part.allSatisfy(\.isASCIIDigitCharacter) else {
                throw error(.badPortNumber, column, "bad port '\(part)' in '\(item.name)' (expected a number 0–65535 or a range P-Q)")
            }
            guard part.count <= 5, let value = Int(part), value <= 65535 else {
                throw error(.portOutOfRange, column, "port \(part) out of range (0–65535)")
            }
            bounds.append(UInt16(value))
            column += part.count + 1
        }
        if bounds.count == 2 {
            guard bounds[0] <= bounds[1] else {
                throw error(.invertedRange, item.column, "inverted range '\(item.name)' (\(bounds[0]) is above \(bounds[1]))")
            }
            return bounds[0]...bounds[1]
        }
        return bounds[0]...bounds[0]
    }

    mutating func parseSample(after keyword: RuleToken) throws(RulesError) -> Int {
        index += 1
        guard index < tokens.count else {
            throw error(.missingValue, endColumn, "missing value after 'sample' (expected 1/N)")
        }
        let value = tokens[index]
        index += 1
        guard let divisor = Self.parseSampleText(value.text), !value.quoted else {
            throw error(.badSample, value.column, "bad sample '\(value.text)' (expected 1/N with N from 1 to \(Self.maximumSampleDivisor))")
        }
        return divisor
    }

    static let maximumSampleDivisor = 1 << 24
    static let maximumSlice = 262_144

    /// "1/N" → N, or nil.
    static func parseSampleText(_ text: String) -> Int? {
        guard text.hasPrefix("1/") else { return nil }
        let digits = text.dropFirst(2)
        guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy(\.isASCIIDigitCharacter),
              let n = Int(digits), n >= 1, n <= maximumSampleDivisor else { return nil }
        return n
    }

    mutating func parseSlice(after keyword: RuleToken) throws(RulesError) -> Int {
        index += 1
        guard index < tokens.count else {
            throw error(.missingValue, endColumn, "missing value after 'slice' (expected a byte count)")
        }
        let value = tokens[index]
        index += 1
        guard !value.quoted, value.text.count <= 7, value.text.allSatisfy(\.isASCIIDigitCharacter),
              let bytes = Int(value.text), bytes >= 1, bytes <= Self.maximumSlice else {
            throw error(.badSlice, value.column, "bad slice '\(value.text)' (expected a byte count from 1 to \(Self.maximumSlice))")
        }
        return bytes
    }

    /// The keyword within edit distance 2 of `word`, if exactly one is closest.
    static func closest(_ word: String, among candidates: [String]) -> String? {
        var best: (String, Int)?
        for candidate in candidates {
            let d = editDistance(Array(word), Array(candidate))
            if d <= 2, best == nil || d < best!.1 { best = (candidate, d) }
        }
        return best?.0
    }

    /// Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent swaps).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        if a.isEmpty || b.isEmpty { return d[a.count][b.count] }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { self >= "0" && self <= "9" }
}
