import SidetapCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension FlowTable {
    public func snapshot(of key: FlowKey) -> FlowSnapshot? {
        let key = Self.canonical(key)
        let hash = key.symmetricHash
        // A chain that changed during the walk may hide the flow: walk again a few times,
        // then look at every slot.
        for _ in 0..<8 {
            let before = structureVersion.load(ordering: .acquiring)
            var slot = buckets[Int(hash) & bucketMask].load(ordering: .acquiring)
            var steps = 0
            while slot >= 0 && steps <= capacity {
                let entry = read(Int(slot))
                if entry.occupied, entry.hash == hash, entry.key == key {
                    return entry.snapshot(sourceIndex: sourceIndex, source: source)
                }
                slot = chainNext[Int(slot)].load(ordering: .acquiring)
                steps += 1
            }
            atomicMemoryFence(ordering: .acquiring)
            if structureVersion.load(ordering: .relaxed) == before { return nil }
        }
        for slot in 0..<capacity {
            let entry = read(slot)
            if entry.occupied, entry.hash == hash, entry.key == key {
                return entry.snapshot(sourceIndex: sourceIndex, source: source)
            }
        }
        return nil
    }

    /// Looks at every slot (O(capacity)): for the control channel, not for the packet path.
    public func snapshots(limit: Int, where filter: (FlowSnapshot) -> Bool) -> [FlowSnapshot] {
        guard limit > 0 else { return [] }
        var found: [FlowSnapshot] = []
        for slot in 0..<capacity {
            let entry = read(slot)
            guard entry.occupied else { continue }
            let snapshot = entry.snapshot(sourceIndex: sourceIndex, source: source)
            if filter(snapshot) { found.append(snapshot) }
        }
        found.sort { $0.lastSeenNanos > $1.lastSeenNanos }
        if found.count > limit { found.removeSubrange(limit...) }
        return found
    }

    public var flowStatistics: FlowTableStatistics {
        FlowTableStatistics(
            capacity: capacity, active: Int(activeCounter.value), created: createdCounter.value,
            evictedIdle: idleCounter.value, evictedFull: fullCounter.value)
    }

    /// A copy of the slot that the writer finished writing (sequence-lock read). Spins while
    /// the writer is inside the slot, yielding the CPU after a while; the writer never waits.
    func read(_ slot: Int) -> FlowEntry {
        let version = versions + slot
        var attempts = 0
        while true {
            let before = version.pointee.load(ordering: .acquiring)
            if before & 1 == 0 {
                let copy = entries[slot]
                atomicMemoryFence(ordering: .acquiring)
                if version.pointee.load(ordering: .relaxed) == before { return copy }
            }
            attempts += 1
            if attempts & 63 == 0 { sched_yield() }
        }
    }

    /// The key in `FlowKey.make`'s order (lower endpoint first), whichever way it was given.
    static func canonical(_ key: FlowKey) -> FlowKey {
        guard key.upperAddress < key.lowerAddress || (key.upperAddress == key.lowerAddress && key.upperPort < key.lowerPort) else {
            return key
        }
        var swapped = key
        swapped.lowerAddress = key.upperAddress
        swapped.upperAddress = key.lowerAddress
        swapped.lowerPort = key.upperPort
        swapped.upperPort = key.lowerPort
        return swapped
    }
}
