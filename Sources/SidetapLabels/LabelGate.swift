import SidetapCore

/// Enforces clearances on one source's packets, on its capture thread: given the ports the
/// selector chose, it keeps only those whose clearance dominates the packet's label and
/// counts the others as label drops per port.
///
/// Everything is computed before the first packet. Without guest addresses a source's
/// packets all carry its own label, so the check is one AND with a constant mask. With
/// addresses the label depends on the packet's two addresses: the mask for each pair of
/// address owners is precomputed, and the pair is resolved once per flow through a small
/// direct-mapped cache. No allocation, no lock; one writer (the source's thread).
public final class LabelGate: @unchecked Sendable {
    /// Label drops per port, published by the source's thread (`publishCounters`), read by anyone.
    public let dropped: [Counter]

    @usableFromInline let portCount: Int
    @usableFromInline let usesAddresses: Bool
    /// Ports cleared for the source's own label.
    @usableFromInline let constantMask: UInt64
    @usableFromInline let localDropped: UnsafeMutableBufferPointer<UInt64>
    @usableFromInline let counters: UnsafeMutableBufferPointer<Unmanaged<Counter>>
    /// Address blocks with their owner index (1-based; 0 is "no owner").
    @usableFromInline let blocks: UnsafeMutableBufferPointer<AddressBlock>
    @usableFromInline let blockOwners: UnsafeMutableBufferPointer<Int>
    /// `pairMasks[a * stride + b]`: ports cleared for source ∨ owner a ∨ owner b.
    @usableFromInline let pairMasks: UnsafeMutableBufferPointer<UInt64>
    @usableFromInline let stride: Int
    @usableFromInline let cache: UnsafeMutableBufferPointer<CacheEntry>
    @usableFromInline let cacheMask: Int

    /// One cached address pair and its port mask.
    @usableFromInline
    struct CacheEntry {
        @usableFromInline var lower: IPAddress
        @usableFromInline var upper: IPAddress
        @usableFromInline var mask: UInt64
        @usableFromInline var valid: Bool
        @usableFromInline init() {
            lower = .zero
            upper = .zero
            mask = 0
            valid = false
        }
    }

    /// A gate for the source at `sourceIndex` of `assignment`; `cacheSlots` is rounded up to
    /// a power of two. `dropCounters` (one per port, in port order) receive the label drops —
    /// counters that outlive the gate, so a port's count carries on when the engine builds a
    /// new gate; by default the gate makes its own.
    public init(_ assignment: LabelAssignment, sourceIndex: Int, cacheSlots: Int = 4096, dropCounters: [Counter]? = nil) {
        portCount = assignment.ports.count
        let base = assignment.sources[sourceIndex].label
        constantMask = assignment.clearedPorts(for: base)
        usesAddresses = assignment.usesAddresses
        precondition(dropCounters == nil || dropCounters!.count == portCount, "one drop counter per port")
        dropped = dropCounters ?? (0..<portCount).map { _ in Counter() }
        localDropped = .allocate(capacity: max(portCount, 1))
        _ = localDropped.initialize(from: dropped.map(\.value))
        counters = .allocate(capacity: max(portCount, 1))
        _ = counters.initialize(from: dropped.map { Unmanaged.passUnretained($0) })

        let owners = assignment.ownerLabels
        var allBlocks: [AddressBlock] = []
        var allOwners: [Int] = []
        for source in assignment.sources {
            guard let owner = owners.firstIndex(of: source.label) else { continue }
            for block in source.addresses {
                allBlocks.append(block)
                allOwners.append(owner + 1)
            }
        }
        blocks = .allocate(capacity: max(allBlocks.count, 1))
        _ = blocks.initialize(from: allBlocks)
        blockOwners = .allocate(capacity: max(allOwners.count, 1))
        _ = blockOwners.initialize(from: allOwners)
        stride = owners.count + 1
        pairMasks = .allocate(capacity: stride * stride)
        // `ownerIndex` takes the first block containing an address; the configuration refuses
        // overlapping blocks with different labels, so the first match is the only label.
        for a in 0..<stride {
            for b in 0..<stride {
                var label = base
                if a > 0 { label = label.leastUpperBound(owners[a - 1]) }
                if b > 0 { label = label.leastUpperBound(owners[b - 1]) }
                pairMasks[a * stride + b] = assignment.clearedPorts(for: label)
            }
        }
        var slots = 1
        while slots < max(cacheSlots, 1) { slots <<= 1 }
        cache = .allocate(capacity: usesAddresses ? slots : 1)
        cache.initialize(repeating: CacheEntry())
        cacheMask = usesAddresses ? slots - 1 : 0
    }

    deinit {
        localDropped.deallocate()
        counters.deinitialize()
        counters.deallocate()
        blocks.deinitialize()
        blocks.deallocate()
        blockOwners.deallocate()
        pairMasks.deallocate()
        cache.deallocate()
    }

    /// The ports of `selected` (a bit per port index) cleared for the packet of flow `key`
    /// (its symmetric hash `hash`); the others are counted as label drops.
    @inlinable
    public func admit(_ selected: UInt64, key: FlowKey, hash: UInt32) -> UInt64 {
        if selected == 0 { return 0 }
        let mask = usesAddresses ? mask(lower: key.lowerAddress, upper: key.upperAddress, hash: hash) : constantMask
        var refused = selected & ~mask
        while refused != 0 {
            let port = refused.trailingZeroBitCount
            refused &= refused &- 1
            localDropped[port] &+= 1
        }
        return selected & mask
    }

    /// Hands this thread's label-drop tallies over to `dropped`; call it from the source's
    /// thread, once per batch (as the selector's and the rings' tallies are), not per packet.
    public func publishCounters() {
        for port in 0..<portCount {
            counters[port]._withUnsafeGuaranteedRef { $0.publish(localDropped[port]) }
        }
    }

    /// The cleared-port mask for a packet between `lower` and `upper`.
    @inlinable
    func mask(lower: IPAddress, upper: IPAddress, hash: UInt32) -> UInt64 {
        let slot = Int(truncatingIfNeeded: hash) & cacheMask
        let entry = cache[slot]
        if entry.valid && entry.lower == lower && entry.upper == upper { return entry.mask }
        let mask = pairMasks[ownerIndex(lower) * stride + ownerIndex(upper)]
        cache[slot].lower = lower
        cache[slot].upper = upper
        cache[slot].mask = mask
        cache[slot].valid = true
        return mask
    }

    /// The 1-based owner index of `address`, 0 when no block contains it.
    @usableFromInline
    func ownerIndex(_ address: IPAddress) -> Int {
        for i in 0..<blocks.count where blocks[i].contains(address) { return blockOwners[i] }
        return 0
    }
}
