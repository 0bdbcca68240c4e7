import SidetapControl
import SidetapCore

/// Everything one scrape exports, read from the engine's counters and the cut service's
/// counters at scrape time (nothing on the packet path, no wait for the cut service's actor).
public struct MetricsSnapshot: Sendable {
    /// One source's flow table, named.
    public struct FlowTable: Sendable {
        public var source: String
        public var statistics: FlowTableStatistics
        public init(source: String, statistics: FlowTableStatistics) {
            self.source = source
            self.statistics = statistics
        }
    }

    public var statistics: EngineStatistics
    /// Ring slots per port, in the order of `statistics.ports`.
    public var ringCapacities: [Int]
    public var rules: RuleStatistics
    public var flowTables: [FlowTable]
    public var cuts: CutCounters.Snapshot
    public var version: String

    public init(statistics: EngineStatistics, ringCapacities: [Int], rules: RuleStatistics, flowTables: [FlowTable],
                cuts: CutCounters.Snapshot, version: String) {
        self.statistics = statistics
        self.ringCapacities = ringCapacities
        self.rules = rules
        self.flowTables = flowTables
        self.cuts = cuts
        self.version = version
    }

    /// The running engine's counters now, and the cut service's.
    public init(engine: Engine, cuts: CutCounters) {
        self.init(statistics: engine.statistics(), ringCapacities: engine.ringCapacities, rules: engine.ruleStatistics(),
                  flowTables: engine.flowTablesByName.map { FlowTable(source: $0.0, statistics: $0.1.flowStatistics) },
                  cuts: cuts.snapshot(), version: SidetapVersion.current)
    }
}
