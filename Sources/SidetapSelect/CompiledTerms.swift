import SidetapCore

/// A compiled flow-only test, as the compiler builds it: answered from `FlowFacts` alone.
/// It is lowered into `FlowTermPlan`s over flat tables for evaluation.
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
}

/// One flow-only term in evaluation form: plain values, lists kept in `FlowTables`.
struct FlowTermPlan: Sendable {
    enum Kind: UInt8, Sendable {
        case any, ipVersion, ipProtocol, address, port, vlan, untagged, direction, sources
    }
    var kind: Kind
    var negated: Bool
    /// 0 source, 1 destination, 2 either (`address`, `port`).
    var endpoint: UInt8
    /// IP version (`ipVersion`, `ipProtocol`: 0 = either) or direction raw value.
    var version: UInt8
    /// Protocol number (`ipProtocol`).
    var number: UInt8
    /// Range of the term's list in the matching `FlowTables` array.
    var start: Int32
    var count: Int32
}

/// A port range in evaluation form.
struct PortRangePlan: Sendable {
    var low: UInt16
    var high: UInt16
}

/// The flow-only terms of every rule and the lists they refer to, as flat arrays.
struct FlowTables: Sendable {
    var terms: [FlowTermPlan] = []
    var networks: [CIDR] = []
    var ranges: [PortRangePlan] = []
    var vlans: [UInt16] = []
    var members: [Bool] = []

    /// Appends `test` (negated or not) and returns nothing; the caller tracks the term range.
    mutating func append(_ test: FlowTest, negated: Bool) {
        func plan(_ kind: FlowTermPlan.Kind, endpoint: Endpoint = .source, version: UInt8 = 0, number: UInt8 = 0,
                  start: Int = 0, count: Int = 0) -> FlowTermPlan {
            let code: UInt8 = endpoint == .source ? 0 : endpoint == .destination ? 1 : 2
            return FlowTermPlan(kind: kind, negated: negated, endpoint: code, version: version, number: number,
                                start: Int32(start), count: Int32(count))
        }
        switch test {
        case .any:
            terms.append(plan(.any))
        case .ipVersion(let v):
            terms.append(plan(.ipVersion, version: v))
        case .ipProtocol(let v, let n):
            terms.append(plan(.ipProtocol, version: v, number: n))
        case .address(let endpoint, let list):
            terms.append(plan(.address, endpoint: endpoint, start: networks.count, count: list.count))
            networks += list
        case .port(let endpoint, let list):
            terms.append(plan(.port, endpoint: endpoint, start: ranges.count, count: list.count))
            ranges += list.map { PortRangePlan(low: $0.lowerBound, high: $0.upperBound) }
        case .vlan(let list):
            terms.append(plan(.vlan, start: vlans.count, count: list.count))
            vlans += list
        case .untagged:
            terms.append(plan(.untagged))
        case .direction(let d):
            terms.append(plan(.direction, version: d.rawValue))
        case .sources(let list):
            terms.append(plan(.sources, start: members.count, count: list.count))
            members += list
        }
    }
}

/// Evaluates flow-only terms over the selector's own copies of the `FlowTables` arrays
/// (unsafe buffers: no reference counting on the per-packet path).
struct FlowEvaluator {
    let terms: UnsafeMutableBufferPointer<FlowTermPlan>
    let networks: UnsafeMutableBufferPointer<CIDR>
    let ranges: UnsafeMutableBufferPointer<PortRangePlan>
    let vlans: UnsafeMutableBufferPointer<UInt16>
    let members: UnsafeMutableBufferPointer<Bool>

    init(_ tables: FlowTables) {
        terms = Selector.copy(tables.terms)
        networks = Selector.copy(tables.networks)
        ranges = Selector.copy(tables.ranges)
        vlans = Selector.copy(tables.vlans)
        members = Selector.copy(tables.members)
    }

    func deallocate() {
        UnsafeMutableRawBufferPointer(terms).deallocate()
        UnsafeMutableRawBufferPointer(networks).deallocate()
        UnsafeMutableRawBufferPointer(ranges).deallocate()
        UnsafeMutableRawBufferPointer(vlans).deallocate()
        UnsafeMutableRawBufferPointer(members).deallocate()
    }

    /// True when all terms in `start..<start+count` hold.
    @inline(__always)
    func allHold(_ start: Int32, _ count: Int32, _ facts: FlowFacts) -> Bool {
        var t = Int(start)
        let end = t &+ Int(count)
        while t < end {
            if !holds(terms[t], facts) { return false }
            t &+= 1
        }
        return true
    }

    @inline(__always)
    func holds(_ term: FlowTermPlan, _ facts: FlowFacts) -> Bool {
        test(term, facts) != term.negated
    }

    func test(_ term: FlowTermPlan, _ facts: FlowFacts) -> Bool {
        let start = Int(term.start), end = Int(term.start) &+ Int(term.count)
        switch term.kind {
        case .any:
            return true
        case .ipVersion:
            return facts.ipVersion == term.version
        case .ipProtocol:
            return facts.ipVersion != 0 && facts.ipProtocol == term.number && (term.version == 0 || facts.ipVersion == term.version)
        case .address:
            guard facts.ipVersion != 0 else { return false }
            for i in start..<end {
                let network = networks[i]
                if term.endpoint != 1 && network.contains(facts.source, version: facts.ipVersion) { return true }
                if term.endpoint != 0 && network.contains(facts.destination, version: facts.ipVersion) { return true }
            }
            return false
        case .port:
            guard facts.hasPorts else { return false }
            for i in start..<end {
                let range = ranges[i]
                if term.endpoint != 1 && facts.sourcePort >= range.low && facts.sourcePort <= range.high { return true }
                if term.endpoint != 0 && facts.destinationPort >= range.low && facts.destinationPort <= range.high { return true }
            }
            return false
        case .vlan:
            guard facts.vlan != FlowFacts.untagged else { return false }
            for i in start..<end where vlans[i] == facts.vlan { return true }
            return false
        case .untagged:
            return facts.vlan == FlowFacts.untagged
        case .direction:
            return facts.direction.rawValue == term.version
        case .sources:
            let index = Int(facts.sourceIndex)
            return index < Int(term.count) && members[start &+ index]
        }
    }
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
