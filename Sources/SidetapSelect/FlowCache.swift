import SidetapCore

/// One cached directed flow: its key words and the flow-only outcome per port.
struct FlowEntry {
    var k0: UInt64 = 0, k1: UInt64 = 0, k2: UInt64 = 0, k3: UInt64 = 0, k4: UInt64 = 0
    /// Source, direction, orientation, has-ports; bit 63 marks a used entry.
    var k5: UInt64 = 0
    /// Ports whose flow-only outcome is accept (used when no per-packet candidate decides).
    var acceptMask: UInt64 = 0
    /// Ports with per-packet rules to evaluate before their flow-only outcome.
    var pendingMask: UInt64 = 0
    /// Ports that evaluate this flow at all (not balanced away to another group member).
    var activeMask: UInt64 = 0
    /// Selector serial of the last use, for least-recently-used replacement.
    var lastUsed: UInt64 = 0
}

/// Per-packet candidates of one port for one cached flow: bit i = the port's i-th per-packet
/// rule has its flow part matching and comes before the deciding flow-only rule.
struct CandidateRow {
    var candidates: UInt64 = 0
    /// Which candidates accept (accept rule, sample and port sample keep the flow).
    var candidateAccepts: UInt64 = 0
}

/// A preallocated 4-way set-associative table of directed flows, with LRU replacement in
/// each set. Allocated once; lookups and replacements allocate nothing.
struct FlowCache {
    static let ways = 4
    let entries: UnsafeMutablePointer<FlowEntry>
    /// `entryCount × portCount` relative rule indices (rule ordinal in the port; `ruleCount`
    /// = no rule matched).
    let decisions: UnsafeMutablePointer<UInt16>
    /// `entryCount × candidatePortCount` rows.
    let candidates: UnsafeMutablePointer<CandidateRow>
    let entryCount: Int
    let setShift: UInt64
    let portCount: Int
    let candidatePortCount: Int

    init(capacity: Int, portCount: Int, candidatePortCount: Int) {
        var count = Self.ways
        while count < capacity { count <<= 1 }
        entryCount = count
        let sets = count / Self.ways
        setShift = UInt64(64 - sets.trailingZeroBitCount)
        self.portCount = portCount
        self.candidatePortCount = candidatePortCount
        entries = .allocate(capacity: count)
        entries.initialize(repeating: FlowEntry(), count: count)
        decisions = .allocate(capacity: max(1, count * portCount))
        decisions.initialize(repeating: 0, count: max(1, count * portCount))
        candidates = .allocate(capacity: max(1, count * candidatePortCount))
        candidates.initialize(repeating: CandidateRow(), count: max(1, count * candidatePortCount))
    }

    func deallocate() {
        entries.deallocate()
        decisions.deallocate()
        candidates.deallocate()
    }

    /// Marks every entry unused.
    func clear() {
        for i in 0..<entryCount { entries[i] = FlowEntry() }
    }

    /// The entry index for the key, and whether it was already there. On a miss the least
    /// recently used way of the set is returned, its key already replaced.
    @inline(__always)
    func lookup(_ k0: UInt64, _ k1: UInt64, _ k2: UInt64, _ k3: UInt64, _ k4: UInt64, _ k5: UInt64,
                hash: UInt64) -> (index: Int, hit: Bool) {
        let set = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> setShift)
        let base = set &* Self.ways
        var victim = base
        var oldest = UInt64.max
        for way in 0..<Self.ways {
            let index = base &+ way
            let entry = entries[index]
            if entry.k5 == k5 && entry.k0 == k0 && entry.k1 == k1 && entry.k2 == k2 && entry.k3 == k3 && entry.k4 == k4 {
                return (index, true)
            }
            let age = entry.k5 == 0 ? 0 : entry.lastUsed
            if age < oldest {
                oldest = age
                victim = index
            }
        }
        let entry = entries.advanced(by: victim)
        entry.pointee.k0 = k0
        entry.pointee.k1 = k1
        entry.pointee.k2 = k2
        entry.pointee.k3 = k3
        entry.pointee.k4 = k4
        entry.pointee.k5 = k5
        return (victim, false)
    }
}
