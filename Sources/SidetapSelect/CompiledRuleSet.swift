import SidetapCore
import SidetapPcap

/// Every port's rules, parsed, checked and compiled once; immutable and shared by all the
/// source threads' `Selector`s.
///
/// Native matches compile into flow tests and flag masks; each distinct pcap expression is
/// compiled by libpcap once per link type among the sources, and shared by every rule that
/// uses it.
public final class CompiledRuleSet: Sendable {
    /// Most ports a rule set can have (a `PortSet` is 64 bits).
    public static let maximumPorts = 64
    /// Most per-packet rules a port can have and still be cached per flow.
    public static let maximumCachedPerPacketRules = 64
    /// Most rules one port can have.
    public static let maximumRulesPerPort = 65_000

    /// The ports, in the order given (their index is their bit in a `PortSet`).
    public let ports: [PortInfo]
    /// The sources the rules were compiled for (empty = not known: names go unchecked).
    public let sources: [SourceDescription]
    /// Link types pcap expressions are compiled for.
    public let linkTypes: [LinkType]
    /// The distinct pcap expressions, in first-use order.
    public let pcapExpressions: [String]

    let compiledPorts: [CompiledPort]
    let rules: [CompiledRule]
    let packetTerms: [PacketTerm]
    let flowTables: FlowTables
    /// `pcapExpressions.count × linkTypes.count` programs, expression-major; nil where the
    /// expression can never match that link type.
    let programs: [FilterProgram?]
    let rulePlans: [RulePlan]
    let portPlans: [PortPlan]
    /// Per-packet rules of all ports, concatenated (`PortPlan.perPacketStart` indexes it).
    let perPacketRuleIndex: [Int32]
    /// Ports with per-packet rules whose candidates are cached per flow.
    let candidatePortCount: Int

    /// Parses and compiles every port's rules.
    ///
    /// - Parameter sources: the engine's sources; pcap expressions are compiled for each of
    ///   their link types and `source`/`guest` names are checked against them. Pass an empty
    ///   list when they are not known: names then go unchecked (and match nothing) and pcap
    ///   expressions are compiled for Ethernet.
    public init(ports: [PortRules], sources: [SourceDescription]) throws(RulesError) {
        if ports.count > Self.maximumPorts {
            let extra = ports[Self.maximumPorts]
            throw RulesError(file: extra.rulesFile, line: 0, column: nil, kind: .badPortConfig,
                             reason: "port '\(extra.name)': at most \(Self.maximumPorts) ports can have rules (\(ports.count) given)")
        }
        var seen: Set<String> = []
        for port in ports {
            if !seen.insert(port.name).inserted {
                throw RulesError(file: port.rulesFile, line: 0, column: nil, kind: .badPortConfig, reason: "duplicate port name '\(port.name)'")
            }
            if let sample = port.sample, sample < 1 || sample > LineCursor.maximumSampleDivisor {
                throw RulesError(file: port.rulesFile, line: 0, column: nil, kind: .badSample,
                                 reason: "port '\(port.name)': bad sample 1/\(sample) (expected N from 1 to \(LineCursor.maximumSampleDivisor))")
            }
            if let slice = port.slice, slice < 1 || slice > LineCursor.maximumSlice {
                throw RulesError(file: port.rulesFile, line: 0, column: nil, kind: .badSlice,
                                 reason: "port '\(port.name)': bad slice \(slice) (expected a byte count from 1 to \(LineCursor.maximumSlice))")
            }
        }

        var linkTypes: [LinkType] = []
        var snaplens: [Int] = []
        for source in sources {
            if let i = linkTypes.firstIndex(of: source.linkType) {
                snaplens[i] = max(snaplens[i], source.snaplen)
            } else {
                linkTypes.append(source.linkType)
                snaplens.append(source.snaplen)
            }
        }
        if linkTypes.isEmpty {
            linkTypes = [.ethernet]
            snaplens = [262_144]
        }

        var compiler = RuleCompiler(sources: sources, linkTypes: linkTypes, snaplens: snaplens)
        var compiledPorts: [CompiledPort] = []
        var groupNames: [String] = []
        for port in ports {
            let syntax = try RuleParser(file: port.rulesFile).parse(port.text)
            if syntax.count > Self.maximumRulesPerPort {
                throw RulesError(file: port.rulesFile, line: syntax[Self.maximumRulesPerPort].line, column: nil, kind: .badPortConfig,
                                 reason: "port '\(port.name)': at most \(Self.maximumRulesPerPort) rules per port")
            }
            let firstRule = compiler.rules.count
            var perPacket: [Int] = []
            for rule in syntax {
                let index = compiler.rules.count
                var compiled = try compiler.compile(rule, port: port, ordinal: index - firstRule)
                if compiled.isPerPacket {
                    compiled.perPacketOrdinal = perPacket.count
                    perPacket.append(index)
                }
                compiler.rules.append(compiled)
            }
            var group = -1
            if let name = port.group {
                if let i = groupNames.firstIndex(of: name) { group = i } else {
                    group = groupNames.count
                    groupNames.append(name)
                }
            }
            compiledPorts.append(CompiledPort(
                rules: port, firstRule: firstRule, ruleCount: compiler.rules.count - firstRule,
                perPacketRules: perPacket, cacheable: perPacket.count <= Self.maximumCachedPerPacketRules,
                sampleDivisor: UInt32(port.sample ?? 1), sampleSalt: Salt.of("port-sample", port.name),
                group: group, groupName: port.group, groupSalt: port.group.map { Salt.of("group", $0) } ?? 0,
                memberIndex: 0, memberCount: 0))
        }
        // Balance groups: members in port order.
        for g in groupNames.indices {
            let members = compiledPorts.indices.filter { compiledPorts[$0].group == g }
            for (position, p) in members.enumerated() {
                compiledPorts[p].memberIndex = UInt32(position)
                compiledPorts[p].memberCount = UInt32(members.count)
            }
        }

        self.sources = sources
        self.linkTypes = linkTypes
        self.pcapExpressions = compiler.expressions
        self.programs = compiler.programs
        self.rules = compiler.rules
        self.packetTerms = compiler.packetTerms
        self.flowTables = compiler.flowTables
        self.compiledPorts = compiledPorts
        self.ports = compiledPorts.map { port in
            PortInfo(
                name: port.rules.name, rulesFile: port.rules.rulesFile,
                rules: compiler.rules[port.firstRule..<(port.firstRule + port.ruleCount)].map {
                    RuleInfo(line: $0.line, text: $0.text, accept: $0.accept, perPacket: $0.isPerPacket)
                },
                sample: port.rules.sample, slice: port.rules.slice, group: port.groupName, flowCached: port.cacheable)
        }
        self.rulePlans = compiler.rules.map { rule in
            RulePlan(accept: rule.accept, perPacket: rule.isPerPacket, perPacketOrdinal: Int32(rule.perPacketOrdinal),
                     flowTermStart: Int32(rule.flowTerms.lowerBound), flowTermCount: Int32(rule.flowTerms.count),
                     packetTermStart: Int32(rule.packetTerms.lowerBound),
                     packetTermCount: Int32(rule.packetTerms.count), sampleDivisor: rule.sampleDivisor,
                     sampleSalt: rule.sampleSalt, slice: rule.effectiveSlice)
        }
        var perPacketRuleIndex: [Int32] = []
        var portPlans: [PortPlan] = []
        var counterBase = 0
        var candidateRows = 0
        for port in compiledPorts {
            let hasCandidates = port.cacheable && !port.perPacketRules.isEmpty
            portPlans.append(PortPlan(
                firstRule: Int32(port.firstRule), ruleCount: Int32(port.ruleCount),
                perPacketStart: Int32(perPacketRuleIndex.count), perPacketCount: Int32(port.perPacketRules.count),
                cacheable: port.cacheable, sampleDivisor: port.sampleDivisor, sampleSalt: port.sampleSalt,
                groupSalt: port.groupSalt, memberIndex: port.memberIndex, memberCount: port.memberCount,
                counterBase: Int32(counterBase), candidateRow: hasCandidates ? Int32(candidateRows) : -1))
            counterBase += port.ruleCount + 1
            if hasCandidates { candidateRows += 1 }
            perPacketRuleIndex += port.perPacketRules.map { Int32($0) }
        }
        self.portPlans = portPlans
        self.perPacketRuleIndex = perPacketRuleIndex
        self.candidatePortCount = candidateRows
    }

    /// Total number of rules over all ports.
    public var ruleCount: Int { rules.count }
}
