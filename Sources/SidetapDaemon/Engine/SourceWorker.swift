import SidetapCore
import SidetapFlows
import SidetapLabels
import SidetapRing
import SidetapSelect
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The capture side of the pipeline for one source, on its own thread:
/// poll → decode → flow key → selector → push to each chosen port's ring.
///
/// Per packet it allocates nothing and takes no lock: the decoded packet is reused, the
/// selector's flow cache is preallocated, rings are SPSC, and counters are kept in plain
/// locals and published once per batch.
final class SourceWorker: @unchecked Sendable {
    let index: UInt16
    let source: any PacketSource
    let description: SourceDescription
    /// The fan-out the worker starts with (selector, lanes, own traffic).
    let initial: FanOut
    let waitWhenFull: Bool
    let batch: Int

    // Published counters (single writer: this worker).
    let packets = Counter()
    let bytes = Counter()
    let decodeIncomplete = Counter()
    /// Outer packets of this engine's own tunnel ports, dropped before selection.
    let ownOutput = Counter()
    /// The source's flow table (TCP sequence state for cuts), when flows are tracked.
    let flows: FlowTable?
    let finished = Atomic<Bool>(false)
    /// A fan-out with reloaded rules or another set of ports, handed over by `replaceFanOut`
    /// and taken at the start of the next batch (one atomic exchange per batch; nothing per
    /// packet).
    let pendingFanOut = Atomic<Unmanaged<FanOut>?>(nil)
    /// The epoch of the fan-out in use. Stored (releasing) after the worker has published
    /// every packet it pushed to the previous fan-out's rings: once a reload reads (acquiring)
    /// an epoch at least its own, no packet will enter a ring the new fan-out left out.
    let acknowledgedEpoch = Atomic<UInt64>(0)
    let stopRequested = Atomic<Bool>(false)
    /// The fan-out in use, for readers on other threads (per-rule counters are in its
    /// selector); written only when the worker switches, never per packet.
    private let inUse: Mutex<FanOut>
    private(set) var failure: String?

    init(index: UInt16, source: any PacketSource, fanOut: FanOut, waitWhenFull: Bool, batch: Int = 256, flows: FlowTable? = nil) {
        self.flows = flows
        self.index = index
        self.source = source
        self.description = source.description
        self.initial = fanOut
        self.inUse = Mutex(fanOut)
        self.waitWhenFull = waitWhenFull
        self.batch = batch
        acknowledgedEpoch.store(fanOut.epoch, ordering: .relaxed)
    }

    /// Hands over a new fan-out; the worker switches to it between two batches. A fan-out
    /// handed over earlier and not yet taken is superseded (the newer one includes it).
    func replaceFanOut(_ next: FanOut) {
        if let superseded = pendingFanOut.exchange(.passRetained(next), ordering: .acquiringAndReleasing) {
            superseded.release()
        }
    }

    /// The selector the worker uses now (its counters are this source's per-rule counts since
    /// the last rules change).
    var selectorInUse: Selector { inUse.withLock { $0.selector } }
    /// The fan-out this worker uses now (its epoch tells which reload it belongs to).
    var fanOutInUse: FanOut { inUse.withLock { $0 } }

    /// Same as `selectorInUse` (the name readers used before reloads changed ports).
    var selector: Selector { selectorInUse }

    /// True once the worker uses `epoch`'s fan-out (or a later one), or has ended.
    func hasAcknowledged(_ epoch: UInt64) -> Bool {
        acknowledgedEpoch.load(ordering: .acquiring) >= epoch || finished.load(ordering: .acquiring)
    }

    deinit {
        pendingFanOut.exchange(nil, ordering: .acquiringAndReleasing)?.release()
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        source.stop()
    }

    /// The capture loop; returns at end of input, on stop, or on a fatal source error.
    func run() {
        var fanOut = initial
        defer {
            for lane in fanOut.lanes { lane.ring.publish() }
            finished.store(true, ordering: .releasing)
        }
        let linkType = description.linkType
        let copy = !source.bytesOutliveDelivery
        let sourceIndex = index
        // The decoded packet lives in one preallocated slot: decoding writes it in place and
        // the selector borrows it, so no 170-byte copy is made per packet.
        let decoded = UnsafeMutablePointer<DecodedPacket>.allocate(capacity: 1)
        decoded.initialize(to: DecodedPacket())
        defer {
            decoded.deinitialize(count: 1)
            decoded.deallocate()
        }
        // Local tallies, published after every batch.
        var localPackets: UInt64 = 0
        var localBytes: UInt64 = 0
        var localIncomplete: UInt64 = 0
        var localOwn: UInt64 = 0
        // The fan-out's tables, rebuilt when a reload hands over a new fan-out (between two
        // batches; never per packet).
        var tables = FanOutTables(fanOut)
        defer { tables.deallocate() }
        var selector = fanOut.selector
        let waitWhenFull = self.waitWhenFull
        let flowTable = self.flows
        var labelGate = fanOut.labelGate

        func publishCounters() {
            selector.publishCounters()
            labelGate?.publishCounters()
            packets.publish(localPackets)
            bytes.publish(localBytes)
            decodeIncomplete.publish(localIncomplete)
            ownOutput.publish(localOwn)
            tables.publish(fanOut.lanes)
        }

        while !stopRequested.load(ordering: .relaxed) {
            if let next = pendingFanOut.exchange(nil, ordering: .acquiringAndReleasing) {
                // The previous batch published its rings; publish its counters, then switch.
                publishCounters()
                fanOut = next.takeRetainedValue()
                selector = fanOut.selector
                labelGate = fanOut.labelGate
                tables.deallocate()
                tables = FanOutTables(fanOut)
                let current = fanOut
                inUse.withLock { $0 = current }
                acknowledgedEpoch.store(fanOut.epoch, ordering: .releasing)
            }
            let selector = selector
            let labelGate = labelGate
            // Plain copies of the tables for the per-packet closure (pointers, no retains).
            let portCount = tables.portCount
            let ownCount = tables.ownCount
            let ownTable = tables.own
            let localSelected = tables.selected
            let localFull = tables.full
            let ringTable = tables.rings
            let outcome: SourcePoll
            do {
                outcome = try source.poll(limit: batch) { packet in
                    PacketDecoder.decode(packet.bytes, linkType: linkType, into: &decoded.pointee)
                    if packet.direction != .unknown { decoded.pointee.direction = packet.direction }
                    if !decoded.pointee.stop.isComplete { localIncomplete &+= 1 }
                    localPackets &+= 1
                    localBytes &+= UInt64(packet.wireLength)
                    if ownCount != 0 {
                        for i in 0..<ownCount where ownTable[i].matches(decoded.pointee) {
                            localOwn &+= 1
                            return
                        }
                    }
                    let flow = FlowKey.make(decoded.pointee)
                    let hash = flow.key.symmetricHash
                    if let flowTable {
                        flowTable.update(decoded.pointee, key: flow.key, reversed: flow.reversed, hash: hash,
                                         wireLength: Int(packet.wireLength), timestampNanos: UInt64(bitPattern: packet.timestampNanos))
                    }
                    var chosen = selector.select(packet, decoded: decoded.pointee, flow: flow.key, reversed: flow.reversed, hash: hash).rawValue
                    if let labelGate { chosen = labelGate.admit(chosen, key: flow.key, hash: hash) }
                    while chosen != 0 {
                        let port = chosen.trailingZeroBitCount
                        chosen &= chosen &- 1
                        localSelected[port] &+= 1
                        let keep = min(packet.bytes.count, Int(selector.sliceLength(port: port)))
                        let view = UnsafeRawBufferPointer(rebasing: packet.bytes[0..<keep])
                        let pushed = ringTable[port]._withUnsafeGuaranteedRef {
                            $0.push(view, wireLength: packet.wireLength, timestampNanos: packet.timestampNanos, sourceIndex: sourceIndex, copy: copy)
                        }
                        if !pushed {
                            let ring = ringTable[port].takeUnretainedValue()
                            if waitWhenFull {
                                ring.publish()
                                var backoff = IdleBackoff()
                                while !ring.push(view, wireLength: packet.wireLength, timestampNanos: packet.timestampNanos, sourceIndex: sourceIndex, copy: copy) {
                                    if stopRequested.load(ordering: .relaxed) { localFull[port] &+= 1; break }
                                    backoff.pause()
                                }
                            } else {
                                localFull[port] &+= 1
                            }
                        }
                    }
                }
            } catch {
                failure = "\(error)"
                break
            }
            for p in 0..<portCount { ringTable[p]._withUnsafeGuaranteedRef { $0.publish() } }
            if !copy {
                // Ports read this source's bytes in place (never nil, even for an empty
                // packet): tell it the oldest any ring still holds.
                var oldest: UnsafeRawPointer? = nil
                for p in 0..<portCount {
                    if let pending = ringTable[p].takeUnretainedValue().oldestPendingBytes, oldest.map({ pending < $0 }) ?? true {
                        oldest = pending
                    }
                }
                source.deliveredBytesInUse(from: oldest)
            }
            publishCounters()
            if outcome == .endOfInput { break }
        }
        publishCounters()
    }
}

/// A fan-out laid out flat for the capture loop: unmanaged ring references (the fan-out keeps
/// them alive, so the per-packet push needs no retain/release pair, 2–3 % of the loop in a
/// profile), the own-traffic table (with no tunnel port the per-packet cost is one compare of
/// the count), and the per-port tallies, which start from the lanes' published counters so a
/// port kept across a reload counts on.
struct FanOutTables {
    let portCount: Int
    let ownCount: Int
    let rings: UnsafeMutableBufferPointer<Unmanaged<PacketRing>>
    let own: UnsafeMutableBufferPointer<OwnTraffic>
    let selected: UnsafeMutableBufferPointer<UInt64>
    let full: UnsafeMutableBufferPointer<UInt64>

    init(_ fanOut: FanOut) {
        portCount = fanOut.lanes.count
        ownCount = fanOut.ownTraffic.count
        rings = .allocate(capacity: max(portCount, 1))
        _ = rings.initialize(from: fanOut.lanes.map { Unmanaged.passUnretained($0.ring) })
        own = .allocate(capacity: max(ownCount, 1))
        _ = own.initialize(from: fanOut.ownTraffic)
        selected = .allocate(capacity: max(portCount, 1))
        full = .allocate(capacity: max(portCount, 1))
        for (p, lane) in fanOut.lanes.enumerated() {
            (selected.baseAddress! + p).initialize(to: lane.selected.value)
            (full.baseAddress! + p).initialize(to: lane.ringFull.value)
        }
    }

    /// Publishes the tallies to the lanes they were read from.
    func publish(_ lanes: [Lane]) {
        for p in 0..<portCount {
            lanes[p].selected.publish(selected[p])
            lanes[p].ringFull.publish(full[p])
        }
    }

    func deallocate() {
        rings.baseAddress!.deinitialize(count: portCount)
        rings.deallocate()
        own.baseAddress!.deinitialize(count: ownCount)
        own.deallocate()
        selected.deallocate()
        full.deallocate()
    }
}
