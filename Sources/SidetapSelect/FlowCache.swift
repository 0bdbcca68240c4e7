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
/// Layout, measured to matter (the table is larger than the CPU caches): each set has a
/// 32-byte block, its four 32-bit tags then its four 32-bit use stamps, scanned first; each
/// entry then keeps its key, masks, per-port decisions and per-packet candidates in one
/// record. A hit touches the set's block and one record; a miss picks its victim from the
/// block alone and writes one record (with the stamps in the records, a new flow read all
/// four records of its set: four cache misses).
struct FlowCache {
    static let ways = 4
    /// Per set, 8 words: the ways' tags (from the flow hash, never 0 for a used entry), then
    /// the ways' use stamps (low 32 bits of the selector serial of the last use).
    let sets: UnsafeMutablePointer<UInt32>
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
        let setCount = count / Self.ways
        setShift = UInt64(64 - setCount.trailingZeroBitCount)
        self.portCount = portCount
        self.candidatePortCount = candidatePortCount
        decisionsOffset = MemoryLayout<FlowEntry>.stride
        candidatesOffset = (decisionsOffset + 2 * portCount + 15) & ~15
        stride = (candidatesOffset + MemoryLayout<CandidateRow>.stride * candidatePortCount + 15) & ~15
        // 64-byte aligned, so no set's block straddles two cache lines.
        sets = UnsafeMutableRawPointer.allocate(byteCount: 8 * count, alignment: 64)
            .initializeMemory(as: UInt32.self, repeating: 0, count: 2 * count)
        // Records are trivial and read only behind a used tag (a miss writes the key, `fill`
        // the masks and every row it later reads), so they are left as the allocator gives
        // them: a large table's pages are then faulted in as flows arrive, not all at start.
        records = .allocate(byteCount: count * stride, alignment: 64)
    }

    func deallocate() {
        sets.deallocate()
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
        sets.update(repeating: 0, count: 2 * entryCount)
        for i in 0..<entryCount { entry(i).pointee = FlowEntry() }
    }

    /// The entry index for the key, and whether it was already there. On a miss the least
    /// recently used way of the set (by `serial` against the use stamps) is returned, its key
    /// already replaced. Either way the entry is stamped as used at `serial`.
    @inline(__always)
    func lookup(_ k0: UInt64, _ k1: UInt64, _ k2: UInt64, _ k3: UInt64, _ k4: UInt64, _ k5: UInt64,
                hash: UInt64, serial: UInt64) -> (index: Int, hit: Bool) {
        let mixed = hash &* 0x9E37_79B9_7F4A_7C15
        let set = Int(truncatingIfNeeded: mixed >> setShift)
        let base = set &* Self.ways
        let block = sets + set &* 8
        let tag = UInt32(truncatingIfNeeded: mixed >> 16) | 1
        let now = UInt32(truncatingIfNeeded: serial)
        // The set's four tags in one 16-byte load, compared at once: one branch per candidate
        // way instead of one mispredicted branch per way.
        let tags = UnsafeRawPointer(block).loadUnaligned(as: SIMD4<UInt32>.self)
        let equal = tags .== SIMD4(repeating: tag)
        var candidates = (equal[0] ? 1 : 0) | (equal[1] ? 2 : 0) | (equal[2] ? 4 : 0) | (equal[3] ? 8 : 0)
        while candidates != 0 {
            let way = candidates.trailingZeroBitCount
            candidates &= candidates &- 1
            let e = entry(base &+ way)
            if e.pointee.k5 == k5 && e.pointee.k0 == k0 && e.pointee.k1 == k1 && e.pointee.k2 == k2
                && e.pointee.k3 == k3 && e.pointee.k4 == k4 {
                block[4 &+ way] = now
                return (base &+ way, true)
            }
        }
        // Victim: an unused way, else the one unused for longest (ages wrap with the serial).
        var victim = 0
        var oldest: UInt32 = 0
        for way in 0..<Self.ways {
            if block[way] == 0 {
                victim = way
                break
            }
            let age = now &- block[4 &+ way]
            if age >= oldest {
                oldest = age
                victim = way
            }
        }
        block[victim] = tag
        block[4 &+ victim] = now
        let e = entry(base &+ victim)
        e.pointee.k0 = k0
        e.pointee.k1 = k1
        e.pointee.k2 = k2
        e.pointee.k3 = k3
        e.pointee.k4 = k4
        e.pointee.k5 = k5
        return (base &+ victim, false)
    }
}
