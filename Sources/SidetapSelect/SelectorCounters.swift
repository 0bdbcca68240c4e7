import SidetapCore

/// One port's counters in one `Selector`; written by the selector's thread, readable from any.
public final class PortCounters: Sendable {
    /// The port's name.
    public let name: String
    /// Packets the port took (after rules, sampling and balancing).
    public let accepted = Counter()
    /// Packets no rule matched (the default reject).
    public let unmatched = Counter()
    /// Packets each rule decided (it was the first to match), in file order. A rule that
    /// matched but whose sample left the flow out still counts here. A balance-group member
    /// counts only the flows the group assigned to it.
    public let rules: [Counter]
    /// Wire bytes of the packets each rule decided, parallel to `rules`.
    public let ruleBytes: [Counter]
    /// Wire bytes of the packets no rule matched.
    public let unmatchedBytes = Counter()

    init(name: String, ruleCount: Int) {
        self.name = name
        self.rules = (0..<ruleCount).map { _ in Counter() }
        self.ruleBytes = (0..<ruleCount).map { _ in Counter() }
    }
}

/// The counters of one `Selector`, per port and per rule. Sum them over the selectors of all
/// source threads for totals.
public final class SelectorCounters: Sendable {
    /// In port order.
    public let ports: [PortCounters]

    init(_ rules: CompiledRuleSet) {
        ports = rules.ports.map { PortCounters(name: $0.name, ruleCount: $0.rules.count) }
    }
}
