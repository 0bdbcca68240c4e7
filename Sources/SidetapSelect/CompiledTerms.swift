import SidetapCore

/// A compiled flow-only test: answered from `FlowFacts` alone.
enum FlowTest: Sendable {
    case any
    case ipVersion(UInt8)
    /// `version` 0 means IPv4 or IPv6.
    case ipProtocol(version: UInt8, number: UInt8)
    case address(Endpoint, [CIDR])
    /// Sorted, merged ranges.
    case port(Endpoint, [ClosedRange<UInt16>])
    case vlan([UInt16])
    case untagged
    case direction(PacketDirection)
    /// `source`/`guest` resolved to the set of source indices (true = member).
    case sources([Bool])

    @inline(__always)
    func holds(_ facts: FlowFacts) -> Bool {
        switch self {
        case .any:
            return true
        case .ipVersion(let version):
            return facts.ipVersion == version
        case .ipProtocol(let version, let number):
            return facts.ipVersion != 0 && facts.ipProtocol == number && (version == 0 || facts.ipVersion == version)
        case .address(let endpoint, let networks):
            guard facts.ipVersion != 0 else { return false }
            for network in networks {
                switch endpoint {
                case .source:
                    if network.contains(facts.source, version: facts.ipVersion) { return true }
                case .destination:
                    if network.contains(facts.destination, version: facts.ipVersion) { return true }
                case .either:
                    if network.contains(facts.source, version: facts.ipVersion)
                        || network.contains(facts.destination, version: facts.ipVersion) { return true }
                }
            }
            return false
        case .port(let endpoint, let ranges):
            guard facts.hasPorts else { return false }
            for range in ranges {
                switch endpoint {
                case .source:
                    if range.contains(facts.sourcePort) { return true }
                case .destination:
                    if range.contains(facts.destinationPort) { return true }
                case .either:
                    if range.contains(facts.sourcePort) || range.contains(facts.destinationPort) { return true }
                }
            }
            return false
        case .vlan(let ids):
            return facts.vlan != FlowFacts.untagged && ids.contains(facts.vlan)
        case .untagged:
            return facts.vlan == FlowFacts.untagged
        case .direction(let direction):
            return facts.direction == direction
        case .sources(let members):
            let index = Int(facts.sourceIndex)
            return index < members.count && members[index]
        }
    }
}

/// A flow-only term with its negation.
struct FlowTerm: Sendable {
    var negated: Bool
    var test: FlowTest

    @inline(__always)
    func holds(_ facts: FlowFacts) -> Bool { test.holds(facts) != negated }
}

/// A per-packet term: TCP flags or a pcap expression. A plain value so the per-packet loop
/// reads it without reference counting.
struct PacketTerm: Sendable {
    enum Kind: UInt8, Sendable { case flags, pcap }
    var kind: Kind
    var negated: Bool
    /// Flags that must be set / clear (`.flags`).
    var setFlags: UInt16
    var clearFlags: UInt16
    /// Index into the rule set's shared pcap expressions (`.pcap`).
    var pcapIndex: Int32
}

/// Merges overlapping or adjacent port ranges, sorted by start.
func mergedRanges(_ ranges: [ClosedRange<UInt16>]) -> [ClosedRange<UInt16>] {
    let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
    var out: [ClosedRange<UInt16>] = []
    for range in sorted {
        if let last = out.last, Int(range.lowerBound) <= Int(last.upperBound) + 1 {
            out[out.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
        } else {
            out.append(range)
        }
    }
    return out
}
