import SidetapCore

/// One rule after compilation: flow-only terms (cacheable per flow), per-packet terms
/// (TCP flags, pcap), and its options.
struct CompiledRule: Sendable {
    var line: Int
    var text: String
    var accept: Bool
    /// Range in `CompiledRuleSet.flowTables.terms`; all must hold, answered from `FlowFacts`.
    var flowTerms: Range<Int>
    /// Range in `CompiledRuleSet.packetTerms`; empty for a flow-only rule.
    var packetTerms: Range<Int>
    /// `sample 1/N`: N (1 = keep every flow).
    var sampleDivisor: UInt32
    var sampleSalt: UInt64
    /// `slice N` as written.
    var slice: Int?
    /// Bytes kept when this rule accepts: the smaller of the rule's and the port's slice.
    var effectiveSlice: UInt32
    /// Position among its port's per-packet rules, or -1 for a flow-only rule.
    var perPacketOrdinal: Int

    var isPerPacket: Bool { !packetTerms.isEmpty }
}

/// The per-packet view of a rule: a plain value the selector copies into its own buffer.
struct RulePlan {
    var accept: Bool
    /// True when the rule has per-packet terms.
    var perPacket: Bool
    /// Position among its port's per-packet rules (valid when `perPacket`).
    var perPacketOrdinal: Int32
    var flowTermStart: Int32
    var flowTermCount: Int32
    var packetTermStart: Int32
    var packetTermCount: Int32
    var sampleDivisor: UInt32
    var sampleSalt: UInt64
    var slice: UInt32
}

/// One port after compilation.
struct CompiledPort: Sendable {
    var rules: PortRules
    /// Global index of its first rule in `CompiledRuleSet.rules`.
    var firstRule: Int
    var ruleCount: Int
    /// Global indices of its per-packet rules, in order (ordinal → rule).
    var perPacketRules: [Int]
    /// True when its decision can be cached per flow (at most 64 per-packet rules).
    var cacheable: Bool
    var sampleDivisor: UInt32
    var sampleSalt: UInt64
    /// Balance group: index among the groups, or -1.
    var group: Int
    var groupName: String?
    var groupSalt: UInt64
    var memberIndex: UInt32
    /// Members in the group; 0 when the port is in no group.
    var memberCount: UInt32
}

/// The per-packet view of a port.
struct PortPlan {
    var firstRule: Int32
    var ruleCount: Int32
    var perPacketStart: Int32
    var perPacketCount: Int32
    var cacheable: Bool
    var sampleDivisor: UInt32
    var sampleSalt: UInt64
    var groupSalt: UInt64
    var memberIndex: UInt32
    var memberCount: UInt32
    /// Index of its first counter in the selector's flat counter list (rules, then "unmatched").
    var counterBase: Int32
    /// Row among the ports that have cached per-packet candidates, or -1.
    var candidateRow: Int32
}

/// What `sidetap check` and the stats show about one rule.
public struct RuleInfo: Sendable, Hashable {
    /// Line in the rules file.
    public var line: Int
    /// The rule as parsed (comments and extra blanks removed).
    public var text: String
    /// True for `accept` rules.
    public var accept: Bool
    /// True when the rule needs each packet (TCP flags, pcap); false when it is decided once
    /// per flow and cached.
    public var perPacket: Bool
}

/// What `sidetap check` and the stats show about one port.
public struct PortInfo: Sendable, Hashable {
    public var name: String
    public var rulesFile: String
    public var rules: [RuleInfo]
    public var sample: Int?
    public var slice: Int?
    public var group: String?
    /// False when the port has more than 64 per-packet rules and is evaluated without cache.
    public var flowCached: Bool
}
