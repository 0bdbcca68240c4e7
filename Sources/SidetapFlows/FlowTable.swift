import SidetapCore
import Synchronization

/// A bounded table of the flows one source has seen, updated by that source's capture thread
/// and read by any other thread at any time.
///
/// **One writer.** Only the source's worker thread calls `update` (and `expireIdle`). It takes
/// no lock, allocates nothing and never waits for a reader: every array is allocated once in
/// `init`.
///
/// **Storage.** `capacity` slots of plain-value entries; a power-of-two bucket array whose
/// chains are linked through slot indices; an intrusive LRU list (most recently updated
/// first) in two index arrays; free slots in a list of their own. A new flow when the table is
/// full takes the least recently seen flow's slot (`evictedFull`). Before each packet the
/// writer looks at the LRU tail and removes up to two flows whose last packet is older than
/// the idle timeout, measured against the current packet's timestamp (`evictedIdle`): the
/// tail is the oldest flow, so this is exact and costs O(1), never a scan.
///
/// **Readers.** Each slot has a sequence lock: the writer makes the slot's version odd before
/// it changes the entry and even again after; a reader copies the entry between two loads of
/// the version and retries when they differ or are odd, so it only ever returns a copy the
/// writer finished. Bucket chains are walked through atomic links; a structure version,
/// bumped before the writer unlinks a slot, tells a reader that a chain changed under it (it
/// walks again). Readers cost the writer nothing.
///
/// **Scope.** Only IP packets make flows; packets without an IP layer (ARP, LLDP, other
/// EtherTypes) are ignored by `update`, as their MAC-keyed `FlowKey` is no conversation a cut
/// could act on. TCP numbers are followed on unfragmented segments and first fragments'
/// headers.
public final class FlowTable: FlowLookup, @unchecked Sendable {
    /// The source this table belongs to; copied into every snapshot.
    public let source: SourceDescription
    public let sourceIndex: UInt16
    public let settings: FlowTableSettings
    /// Slots (the effective capacity: the configured one, at least 1 and at most 2²⁶).
    public let capacity: Int

    @usableFromInline let idleTimeout: UInt64
    @usableFromInline let bucketMask: Int
    @usableFromInline let entries: UnsafeMutablePointer<FlowEntry>
    @usableFromInline let versions: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let buckets: UnsafeMutablePointer<Atomic<Int32>>
    @usableFromInline let chainNext: UnsafeMutablePointer<Atomic<Int32>>
    @usableFromInline let lruPrevious: UnsafeMutablePointer<Int32>
    @usableFromInline let lruNext: UnsafeMutablePointer<Int32>
    /// Bumped before any slot is unlinked from its chain.
    @usableFromInline let structureVersion = Atomic<UInt64>(0)
    /// Most and least recently updated slot, and the free list (through `lruNext`); writer only.
    @usableFromInline var lruHead: Int32 = -1
    @usableFromInline var lruTail: Int32 = -1
    @usableFromInline var freeHead: Int32 = 0
    @usableFromInline var active = 0
    @usableFromInline let activeCounter = Counter()
    @usableFromInline let createdCounter = Counter()
    @usableFromInline let idleCounter = Counter()
    @usableFromInline let fullCounter = Counter()

    /// Most idle flows removed before one packet is accounted.
    @usableFromInline static let idleChecksPerUpdate = 2

    public init(settings: FlowTableSettings, source: SourceDescription, sourceIndex: UInt16) {
        self.settings = settings
        self.source = source
        self.sourceIndex = sourceIndex
        let capacity = min(max(settings.capacity, 1), 1 << 26)
        self.capacity = capacity
        idleTimeout = settings.idleTimeoutNanos
        var bucketCount = 1
        while bucketCount < capacity * 2 { bucketCount <<= 1 }
        bucketMask = bucketCount - 1
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: FlowEntry(), count: capacity)
        versions = .allocate(capacity: capacity)
        chainNext = .allocate(capacity: capacity)
        lruPrevious = .allocate(capacity: capacity)
        lruNext = .allocate(capacity: capacity)
        for slot in 0..<capacity {
            (versions + slot).initialize(to: Atomic(0))
            (chainNext + slot).initialize(to: Atomic(-1))
            lruPrevious[slot] = -1
            lruNext[slot] = slot + 1 < capacity ? Int32(slot + 1) : -1
        }
        buckets = .allocate(capacity: bucketCount)
        for bucket in 0..<bucketCount { (buckets + bucket).initialize(to: Atomic(-1)) }
    }

    deinit {
        entries.deinitialize(count: capacity)
        entries.deallocate()
        versions.deinitialize(count: capacity)
        versions.deallocate()
        chainNext.deinitialize(count: capacity)
        chainNext.deallocate()
        buckets.deinitialize(count: bucketMask + 1)
        buckets.deallocate()
        lruPrevious.deallocate()
        lruNext.deallocate()
    }

    // MARK: Writer

    /// Accounts one packet; call only from the source's worker thread. `key`, `reversed` and
    /// `hash` are `FlowKey.make(decoded)` and `key.symmetricHash`; `timestampNanos` is the
    /// capture time, which also drives idle expiry. Packets without an IP layer are ignored.
    @inlinable
    public func update(_ decoded: DecodedPacket, key: FlowKey, reversed: Bool, hash: UInt32, wireLength: Int, timestampNanos: UInt64) {
        guard decoded.ipVersion != 0 else { return }
        expireIdle(nowNanos: timestampNanos, limit: Self.idleChecksPerUpdate)
        var slot = find(key, hash: hash)
        let isNew = slot < 0
        if isNew {
            slot = claimSlot()
        } else {
            moveToFront(slot)
        }
        let version = versions + Int(slot)
        beginWrite(version)
        let entry = entries + Int(slot)
        if isNew { fill(entry, decoded, key: key, reversed: reversed, hash: hash, timestampNanos: timestampNanos) }
        if timestampNanos > entry.pointee.lastSeen { entry.pointee.lastSeen = timestampNanos }
        if timestampNanos < entry.pointee.firstSeen { entry.pointee.firstSeen = timestampNanos }
        if reversed {
            entry.pointee.upper.record(decoded, wireLength: wireLength)
        } else {
            entry.pointee.lower.record(decoded, wireLength: wireLength)
        }
        endWrite(version)
        // A new flow becomes reachable for readers only once its first packet is in it.
        if isNew { link(slot, hash: hash) }
    }

    /// Removes up to `limit` flows idle longer than the timeout at `nowNanos` (capture time),
    /// oldest first; returns how many. Writer thread only: `update` calls it per packet, and a
    /// worker with no packets may call it to let flows age out.
    @inlinable
    @discardableResult
    public func expireIdle(nowNanos: UInt64, limit: Int) -> Int {
        guard nowNanos > idleTimeout else { return 0 }
        let horizon = nowNanos - idleTimeout
        var removed = 0
        while removed < limit {
            let tail = lruTail
            guard tail >= 0, entries[Int(tail)].lastSeen < horizon else { break }
            remove(tail)
            removed += 1
        }
        if removed > 0 { idleCounter.publish(idleCounter.value &+ UInt64(removed)) }
        return removed
    }

    @inlinable @inline(__always)
    func beginWrite(_ version: UnsafeMutablePointer<Atomic<UInt32>>) {
        version.pointee.store(version.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
    }

    @inlinable @inline(__always)
    func endWrite(_ version: UnsafeMutablePointer<Atomic<UInt32>>) {
        version.pointee.store(version.pointee.load(ordering: .relaxed) &+ 1, ordering: .releasing)
    }

    /// The slot holding `key`, or -1.
    @inlinable
    func find(_ key: FlowKey, hash: UInt32) -> Int32 {
        var slot = buckets[Int(hash) & bucketMask].load(ordering: .relaxed)
        while slot >= 0 {
            let entry = entries + Int(slot)
            if entry.pointee.hash == hash && Self.same(entry.pointee.key, key) { return slot }
            slot = chainNext[Int(slot)].load(ordering: .relaxed)
        }
        return -1
    }

    /// Field-by-field key equality, inlined into the packet path.
    @inlinable @inline(__always)
    static func same(_ a: FlowKey, _ b: FlowKey) -> Bool {
        a.lowerAddress.low == b.lowerAddress.low && a.upperAddress.low == b.upperAddress.low
            && a.lowerAddress.high == b.lowerAddress.high && a.upperAddress.high == b.upperAddress.high
            && a.lowerPort == b.lowerPort && a.upperPort == b.upperPort
            && a.ipProtocol == b.ipProtocol && a.vlan == b.vlan
    }

    /// A free slot, after evicting the least recently seen flow when there is none.
    @inlinable
    func claimSlot() -> Int32 {
        if freeHead < 0 {
            remove(lruTail)
            fullCounter.publish(fullCounter.value &+ 1)
        }
        let slot = freeHead
        freeHead = lruNext[Int(slot)]
        return slot
    }

    /// Starts a new flow's entry (inside the slot's write section).
    @inlinable
    func fill(_ entry: UnsafeMutablePointer<FlowEntry>, _ decoded: DecodedPacket, key: FlowKey, reversed: Bool, hash: UInt32,
              timestampNanos: UInt64) {
        entry.pointee = FlowEntry()
        entry.pointee.key = key
        entry.pointee.hash = hash
        entry.pointee.occupied = true
        // The sender of the first packet started the flow, unless that packet answers a SYN.
        let answersSYN = decoded.ipProtocol == IPProtocolNumber.tcp && decoded.transportOffset >= 0
            && decoded.tcpFlags.contains(.syn) && decoded.tcpFlags.contains(.ack)
        entry.pointee.initiatorIsUpper = reversed != answersSYN
        entry.pointee.vlanCount = decoded.vlanCount
        entry.pointee.outerVLAN = decoded.outerVLAN
        entry.pointee.innerVLAN = decoded.innerVLAN
        entry.pointee.linkType = decoded.linkType
        entry.pointee.firstSeen = timestampNanos
        entry.pointee.lastSeen = timestampNanos
    }

    /// Puts a filled slot into its bucket chain and at the front of the LRU list.
    @inlinable
    func link(_ slot: Int32, hash: UInt32) {
        // Publish the chain link before the bucket head that makes the slot reachable.
        let bucket = buckets + (Int(hash) & bucketMask)
        chainNext[Int(slot)].store(bucket.pointee.load(ordering: .relaxed), ordering: .relaxed)
        bucket.pointee.store(slot, ordering: .releasing)
        lruPrevious[Int(slot)] = -1
        lruNext[Int(slot)] = lruHead
        if lruHead >= 0 { lruPrevious[Int(lruHead)] = slot } else { lruTail = slot }
        lruHead = slot
        active += 1
        activeCounter.publish(UInt64(active))
        createdCounter.publish(createdCounter.value &+ 1)
    }

    /// Makes `slot` the most recently seen.
    @inlinable @inline(__always)
    func moveToFront(_ slot: Int32) {
        guard lruHead != slot else { return }
        let previous = lruPrevious[Int(slot)]
        let next = lruNext[Int(slot)]
        // `slot` is not the head, so it has a predecessor.
        lruNext[Int(previous)] = next
        if next >= 0 { lruPrevious[Int(next)] = previous } else { lruTail = previous }
        lruPrevious[Int(slot)] = -1
        lruNext[Int(slot)] = lruHead
        lruPrevious[Int(lruHead)] = slot
        lruHead = slot
    }

    /// Unlinks an occupied slot from its chain and the LRU list and frees it.
    @usableFromInline
    func remove(_ slot: Int32) {
        let index = Int(slot)
        // Readers walking a chain through this slot notice the bump and walk again.
        structureVersion.store(structureVersion.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        let bucket = buckets + (Int(entries[index].hash) & bucketMask)
        let next = chainNext[index].load(ordering: .relaxed)
        var cursor = bucket.pointee.load(ordering: .relaxed)
        if cursor == slot {
            bucket.pointee.store(next, ordering: .releasing)
        } else {
            while cursor >= 0 {
                let following = chainNext[Int(cursor)].load(ordering: .relaxed)
                if following == slot {
                    chainNext[Int(cursor)].store(next, ordering: .releasing)
                    break
                }
                cursor = following
            }
        }
        let version = versions + index
        beginWrite(version)
        entries[index].occupied = false
        endWrite(version)
        let previous = lruPrevious[index]
        let following = lruNext[index]
        if previous >= 0 { lruNext[Int(previous)] = following } else { lruHead = following }
        if following >= 0 { lruPrevious[Int(following)] = previous } else { lruTail = previous }
        lruPrevious[index] = -1
        lruNext[index] = freeHead
        freeHead = slot
        active -= 1
        activeCounter.publish(UInt64(active))
    }
}
