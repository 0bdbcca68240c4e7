import SidetapCore
import SidetapSelect

/// Per-rule counts of the rules in force, summed over every source's selector: how many
/// packets each rule decided (it was the first to match) and how many no rule matched.
public struct RuleStatistics: Sendable, Equatable {
    /// One rule of a port's rules file.
    public struct Rule: Sendable, Equatable {
        /// Line in the rules file.
        public var line: Int
        /// True for `accept`, false for `reject`.
        public var accept: Bool
        /// Packets the rule decided.
        public var packets: UInt64
        /// Wire bytes of those packets.
        public var bytes: UInt64
    }

    /// One port's rules.
    public struct Port: Sendable, Equatable {
        public var name: String
        public var rulesFile: String
        /// In file order.
        public var rules: [Rule]
        /// Packets no rule matched (the default reject).
        public var unmatched: UInt64
    }

    /// In port order.
    public var ports: [Port]

    /// Statistics made of `ports` as they are.
    public init(ports: [Port]) { self.ports = ports }

    /// Sums the counters of selectors built from `rules` (one selector per source).
    public init(rules: CompiledRuleSet, counters: [SelectorCounters]) {
        ports = rules.ports.enumerated().map { p, info in
            let perSelector = counters.compactMap { $0.ports.indices.contains(p) ? $0.ports[p] : nil }
            let rules = info.rules.enumerated().map { r, rule in
                Rule(line: rule.line, accept: rule.accept,
                     packets: perSelector.reduce(0) { $0 + ($1.rules.indices.contains(r) ? $1.rules[r].value : 0) },
                     bytes: perSelector.reduce(0) { $0 + ($1.ruleBytes.indices.contains(r) ? $1.ruleBytes[r].value : 0) })
            }
            return Port(name: info.name, rulesFile: info.rulesFile, rules: rules,
                        unmatched: perSelector.reduce(0) { $0 + $1.unmatched.value })
        }
    }
}
