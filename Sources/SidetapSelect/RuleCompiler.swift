import SidetapCore
import SidetapPcap

/// Turns parsed rules into compiled ones: resolves source and guest names, merges port
/// ranges, splits flow-only from per-packet terms, and compiles each distinct pcap
/// expression once per link type.
struct RuleCompiler {
    let sources: [SourceDescription]
    let linkTypes: [LinkType]
    let snaplens: [Int]
    var rules: [CompiledRule] = []
    var packetTerms: [PacketTerm] = []
    var flowTables = FlowTables()
    var expressions: [String] = []
    var programs: [FilterProgram?] = []
    var expressionIndex: [String: Int] = [:]

    init(sources: [SourceDescription], linkTypes: [LinkType], snaplens: [Int]) {
        self.sources = sources
        self.linkTypes = linkTypes
        self.snaplens = snaplens
    }

    mutating func compile(_ rule: RuleSyntax, port: PortRules, ordinal: Int) throws(RulesError) -> CompiledRule {
        let flowStart = flowTables.terms.count
        let packetStart = packetTerms.count
        for term in rule.terms {
            switch term.match {
            case .tcpFlags(let set, let clear):
                packetTerms.append(PacketTerm(kind: .flags, negated: term.negated, setFlags: set.rawValue,
                                              clearFlags: clear.rawValue, pcapIndex: -1))
            case .pcap(let expression):
                let index = try program(for: expression, file: port.rulesFile, line: rule.line)
                packetTerms.append(PacketTerm(kind: .pcap, negated: term.negated, setFlags: 0, clearFlags: 0,
                                              pcapIndex: Int32(index)))
            default:
                let test = try flowTest(term.match, file: port.rulesFile, line: rule.line)
                // `any` adds nothing to a conjunction; `not any` still has to stay.
                if case .any = test, !term.negated { continue }
                flowTables.append(test, negated: term.negated)
            }
        }
        let portSlice = port.slice.map(UInt32.init) ?? UInt32.max
        let ruleSlice = rule.slice.map(UInt32.init) ?? UInt32.max
        return CompiledRule(
            line: rule.line, text: rule.text, accept: rule.accept, flowTerms: flowStart..<flowTables.terms.count,
            packetTerms: packetStart..<packetTerms.count,
            sampleDivisor: UInt32(rule.sample ?? 1), sampleSalt: Salt.of("rule-sample", port.name, String(ordinal)),
            slice: rule.slice, effectiveSlice: min(portSlice, ruleSlice), perPacketOrdinal: -1)
    }

    func flowTest(_ match: MatchSyntax, file: String, line: Int) throws(RulesError) -> FlowTest {
        switch match {
        case .any: return .any
        case .ipVersion(let v): return .ipVersion(v)
        case .ipProtocol(let version, let number): return .ipProtocol(version: version, number: number)
        case .address(let endpoint, let networks): return .address(endpoint, networks)
        case .port(let endpoint, let ranges): return .port(endpoint, mergedRanges(ranges))
        case .vlan(let ids): return .vlan(ids)
        case .untagged: return .untagged
        case .direction(let d): return .direction(d)
        case .source(let names):
            return .sources(try members(names, file: file, line: line, kind: .unknownSource, noun: "source") { [$0.name] })
        case .guest(let names):
            return .sources(try members(names, file: file, line: line, kind: .unknownGuest, noun: "guest") { $0.guest.map { [$0] } ?? [] })
        case .tcpFlags, .pcap:
            preconditionFailure("per-packet terms are compiled separately")
        }
    }

    /// Which source indices carry one of `names` (as their name or guest).
    func members(_ names: [NamedValue], file: String, line: Int, kind: RulesError.Kind, noun: String,
                 keys: (SourceDescription) -> [String]) throws(RulesError) -> [Bool] {
        var members = Array(repeating: false, count: sources.count)
        for name in names {
            var found = false
            for (i, source) in sources.enumerated() where keys(source).contains(name.name) {
                members[i] = true
                found = true
            }
            if !found && !sources.isEmpty {
                var known: [String] = []
                for source in sources {
                    for key in keys(source) where !known.contains(key) { known.append(key) }
                }
                let list = known.isEmpty ? "none" : known.joined(separator: ", ")
                throw RulesError(file: file, line: line, column: name.column, kind: kind,
                                 reason: "unknown \(noun) '\(name.name)' (known \(noun)s: \(list))")
            }
        }
        return members
    }

    /// The index of `expression` among the shared expressions, compiling it for every link type
    /// the first time it is seen.
    ///
    /// An expression libpcap finds can never match on one link type ("expression rejects all
    /// packets", e.g. `icmp` on raw IPv6) simply never matches packets of that link type; it is
    /// an error only when that holds for every link type.
    mutating func program(for expression: String, file: String, line: Int) throws(RulesError) -> Int {
        if let index = expressionIndex[expression] { return index }
        var compiled: [FilterProgram?] = []
        var rejectsAll: String?
        for (i, linkType) in linkTypes.enumerated() {
            do {
                compiled.append(try FilterProgram(expression: expression, linkType: linkType, snaplen: snaplens[i]))
            } catch {
                let which = linkTypes.count > 1 ? " (link type \(linkType))" : ""
                if error.message.contains("rejects all packets") {
                    compiled.append(nil)
                    rejectsAll = rejectsAll ?? "\(error.message)\(which)"
                    continue
                }
                // libpcap prefixes parse errors with "can't parse filter expression: ", which our
                // own wording already says.
                var message = Substring(error.message)
                if message.hasPrefix("can't parse filter expression: ") { message = message.dropFirst(31) }
                throw RulesError(file: file, line: line, column: nil, kind: .badPcapExpression,
                                 reason: "pcap expression \"\(expression)\": \(message)\(which)")
            }
        }
        if let rejectsAll, compiled.allSatisfy({ $0 == nil }) {
            throw RulesError(file: file, line: line, column: nil, kind: .badPcapExpression,
                             reason: "pcap expression \"\(expression)\": \(rejectsAll)")
        }
        let index = expressions.count
        expressions.append(expression)
        programs += compiled
        expressionIndex[expression] = index
        return index
    }
}
