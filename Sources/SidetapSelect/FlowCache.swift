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
///
/// Layout, measured to matter (the table is larger than the CPU caches): a compact array of
/// 32-bit tags, 16 bytes per set, is scanned first; each entry then keeps its key, masks,
/// per-port decisions and per-packet candidates in one record, so a hit touches the tag line
/// and one record.
struct FlowCache {
    static let ways = 4
    /// Per entry: a tag from the flow hash, never 0 for a used entry.
    let tags: UnsafeMutablePointer<UInt32>
    /// `entryCount` records of `stride` bytes: `FlowEntry`, then `portCount` UInt16 decisions
    /// (rule ordinal in the port; `ruleCount` = no rule matched), then `candidatePortCount`
    /// `CandidateRow`s.
    let records: UnsafeMutableRawPointer
    let stride: Int
    let decisionsOffset: Int
    let candidatesOffset: Int
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
        decisionsOffset = MemoryLayout<FlowEntry>.stride
        candidatesOffset = (decisionsOffset + 2 * portCount + 15) & ~15
        stride = (candidatesOffset + MemoryLayout<CandidateRow>.stride * candidatePortCount + 15) & ~15
        tags = .allocate(capacity: count)
        tags.initialize(repeating: 0, count: count)
        records = .allocate(byteCount: count * stride, alignment: 64)
        records.initializeMemory(as: UInt8.self, repeating: 0, count: count * stride)
        for i in 0..<count { entry(i).initialize(to: FlowEntry()) }
    }

    func deallocate() {
        tags.deallocate()
        records.deallocate()
    }

    @inline(__always)
    func entry(_ index: Int) -> UnsafeMutablePointer<FlowEntry> {
        (records + index &* stride).assumingMemoryBound(to: FlowEntry.self)
    }

    /// The entry's per-port decisions.
    @inline(__always)
    func decisions(_ index: Int) -> UnsafeMutablePointer<UInt16> {
        (records + (index &* stride &+ decisionsOffset)).assumingMemoryBound(to: UInt16.self)
    }

    /// The entry's per-packet candidate rows.
    @inline(__always)
    func candidates(_ index: Int) -> UnsafeMutablePointer<CandidateRow> {
        (records + (index &* stride &+ candidatesOffset)).assumingMemoryBound(to: CandidateRow.self)
    }

    /// Marks every entry unused.
    func clear() {
        for i in 0..<entryCount {
            tags[i] = 0
            entry(i).pointee = FlowEntry()
        }
    }

    /// The entry index for the key, and whether it was already there. On a miss the least
    /// recently used way of the set is returned, its key already replaced.
    @inline(__always)
    func lookup(_ k0: UInt64, _ k1: UInt64, _ k2: UInt64, _ k3: UInt64, _ k4: UInt64, _ k5: UInt64,
                hash: UInt64) -> (index: Int, hit: Bool) {
        let mixed = hash &* 0x9E37_79B9_7F4A_7C15
        let base = Int(truncatingIfNeeded: mixed >> setShift) &* Self.ways
        let tag = UInt32(truncatingIfNeeded: mixed >> 16) | 1
        // The set's four tags in one 16-byte load, compared at once: one branch per candidate
        // way instead of one mispredicted branch per way.
        let set = UnsafeRawPointer(tags + base).loadUnaligned(as: SIMD4<UInt32>.self)
        let equal = set .== SIMD4(repeating: tag)
        var candidates = (equal[0] ? 1 : 0) | (equal[1] ? 2 : 0) | (equal[2] ? 4 : 0) | (equal[3] ? 8 : 0)
        while candidates != 0 {
            let way = candidates.trailingZeroBitCount
            candidates &= candidates &- 1
            let e = entry(base &+ way)
            if e.pointee.k5 == k5 && e.pointee.k0 == k0 && e.pointee.k1 == k1 && e.pointee.k2 == k2
                && e.pointee.k3 == k3 && e.pointee.k4 == k4 {
                return (base &+ way, true)
            }
        }
        var victim = base
        var oldest = UInt64.max
        for way in 0..<Self.ways {
            let index = base &+ way
            let age = tags[index] == 0 ? 0 : entry(index).pointee.lastUsed
            if age < oldest {
                oldest = age
                victim = index
            }
        }
        tags[victim] = tag
        let e = entry(victim)
        e.pointee.k0 = k0
        e.pointee.k1 = k1
        e.pointee.k2 = k2
        e.pointee.k3 = k3
        e.pointee.k4 = k4
        e.pointee.k5 = k5
        return (victim, false)
    }
}
