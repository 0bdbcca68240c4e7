import Synchronization

/// A lock-free single-producer/single-consumer ring of packets over preallocated memory.
///
/// Two preallocated regions: a power-of-two array of `RingEntry` descriptors and a
/// power-of-two byte arena that copied packets are laid into contiguously. Nothing is
/// allocated after `init`. One thread (the source) pushes and publishes; one thread (the
/// port's worker) consumes. Who owns what:
/// - entries in `[consumerIndex, producerIndex)` belong to the consumer once published;
/// - everything else belongs to the producer.
/// The producer's `publish()` stores its index with release ordering, paired with the
/// consumer's acquiring load in `consume`; the consumer's release of entries (and their arena
/// bytes) is a release store paired with the producer's acquiring load in `reserve`.
public final class PacketRing: @unchecked Sendable {
    /// Number of descriptor slots (a power of two).
    public let capacity: Int
    /// Size of the byte arena (a power of two, or 0 when every packet is passed by pointer).
    public let arenaCapacity: Int

    @usableFromInline let mask: Int
    @usableFromInline let arenaMask: UInt64
    @usableFromInline let entries: UnsafeMutablePointer<RingEntry>
    @usableFromInline let arena: UnsafeMutableRawPointer?

    // Producer-side state: written only by the producer thread.
    @usableFromInline var producerIndex: Int = 0
    @usableFromInline var producerArena: UInt64 = 0
    @usableFromInline var cachedConsumerIndex: Int = 0
    @usableFromInline var cachedArenaReleased: UInt64 = 0
    @usableFromInline var producerPadding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    // Shared indices, each on its own cache line.
    @usableFromInline let published = Atomic<Int>(0)
    @usableFromInline var padding1: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
    @usableFromInline let released = Atomic<Int>(0)
    @usableFromInline let arenaReleased = Atomic<UInt64>(0)
    @usableFromInline var padding2: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)

    // Consumer-side state: written only by the consumer thread.
    @usableFromInline var consumerIndex: Int = 0
    @usableFromInline var cachedPublished: Int = 0

    /// Creates a ring with at least `slots` descriptors and an arena of at least `arenaBytes`
    /// (both rounded up to powers of two; `arenaBytes` 0 means pointer-only).
    public init(slots: Int, arenaBytes: Int) {
        precondition(slots >= 2, "a ring needs at least two slots")
        capacity = Self.powerOfTwo(atLeast: slots)
        mask = capacity - 1
        entries = UnsafeMutablePointer<RingEntry>.allocate(capacity: capacity)
        entries.initialize(repeating: RingEntry(bytes: nil, length: 0, wireLength: 0, timestampNanos: 0, sourceIndex: 0, arenaEnd: 0), count: capacity)
        if arenaBytes > 0 {
            arenaCapacity = Self.powerOfTwo(atLeast: arenaBytes)
            arena = UnsafeMutableRawPointer.allocate(byteCount: arenaCapacity, alignment: 64)
        } else {
            arenaCapacity = 0
            arena = nil
        }
        arenaMask = UInt64(max(arenaCapacity, 1) - 1)
    }

    deinit {
        entries.deinitialize(count: capacity)
        entries.deallocate()
        arena?.deallocate()
    }

    static func powerOfTwo(atLeast value: Int) -> Int {
        var n = 1
        while n < value { n <<= 1 }
        return n
    }

    // MARK: producer

    /// Adds a packet; copies it into the arena when `copy` is true, else keeps the pointer.
    /// Returns false (and changes nothing) when the ring or the arena is full.
    /// The packet is visible to the consumer only after `publish()`.
    @inlinable
    public func push(_ bytes: UnsafeRawBufferPointer, wireLength: UInt32, timestampNanos: Int64, sourceIndex: UInt16, copy: Bool) -> Bool {
        let index = producerIndex
        if index - cachedConsumerIndex >= capacity {
            cachedConsumerIndex = released.load(ordering: .acquiring)
            cachedArenaReleased = arenaReleased.load(ordering: .acquiring)
            if index - cachedConsumerIndex >= capacity { return false }
        }
        var pointer = UnsafeRawPointer(bytes.baseAddress)
        let length = bytes.count
        if copy && length > 0 {
            guard let arena else { return false }
            let size = UInt64(length)
            var start = producerArena
            let offset = start & arenaMask
            // A packet never wraps: skip to the arena's start when it would not fit at the end.
            if offset + size > UInt64(arenaCapacity) { start += UInt64(arenaCapacity) - offset }
            let end = start + size
            if end - cachedArenaReleased > UInt64(arenaCapacity) {
                cachedConsumerIndex = released.load(ordering: .acquiring)
                cachedArenaReleased = arenaReleased.load(ordering: .acquiring)
                if end - cachedArenaReleased > UInt64(arenaCapacity) { return false }
            }
            let destination = arena + Int(start & arenaMask)
            destination.copyMemory(from: bytes.baseAddress!, byteCount: length)
            pointer = UnsafeRawPointer(destination)
            producerArena = end
        }
        entries[index & mask] = RingEntry(
            bytes: pointer, length: UInt32(truncatingIfNeeded: length), wireLength: wireLength,
            timestampNanos: timestampNanos, sourceIndex: sourceIndex, arenaEnd: producerArena)
        producerIndex = index &+ 1
        return true
    }

    /// Makes every pushed packet visible to the consumer (one release store per batch).
    @inlinable
    public func publish() {
        published.store(producerIndex, ordering: .releasing)
    }

    /// The bytes of the oldest packet pushed and not yet released by the consumer (the
    /// arena copy for a copied packet, the caller's pointer otherwise), or nil when the ring
    /// holds none. Producer thread only: entries from the consumer's released index up to
    /// the producer's are the producer's own writes, so reading one is not a race.
    public var oldestPendingBytes: UnsafeRawPointer? {
        let oldest = released.load(ordering: .acquiring)
        guard oldest != producerIndex else { return nil }
        return entries[oldest & mask].bytes
    }

    /// Packets pushed but not yet consumed, as the producer sees it (may lag).
    public var producerBacklog: Int { producerIndex - released.load(ordering: .relaxed) }

    // MARK: consumer

    /// Hands up to `limit` published packets to `body` in order, then releases them.
    /// Returns how many were consumed (0 when the ring is empty).
    @inlinable
    public func consume(limit: Int, _ body: (RingEntry) -> Void) -> Int {
        var available = cachedPublished - consumerIndex
        if available < limit {
            cachedPublished = published.load(ordering: .acquiring)
            available = cachedPublished - consumerIndex
            if available <= 0 { return 0 }
        }
        let count = min(available, limit)
        var arenaEnd: UInt64 = 0
        for i in 0..<count {
            let entry = entries[(consumerIndex &+ i) & mask]
            body(entry)
            arenaEnd = entry.arenaEnd
        }
        consumerIndex &+= count
        arenaReleased.store(arenaEnd, ordering: .releasing)
        released.store(consumerIndex, ordering: .releasing)
        return count
    }

    /// True when nothing published remains for the consumer.
    @inlinable
    public var isEmpty: Bool {
        published.load(ordering: .acquiring) == consumerIndex
    }

    /// Entries currently in the ring (published and not consumed), from any thread.
    public var occupancy: Int {
        max(0, published.load(ordering: .relaxed) - released.load(ordering: .relaxed))
    }
}
