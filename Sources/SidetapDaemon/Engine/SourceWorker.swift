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
    let rings: [PacketRing]          // one per port, this source is their only producer
    let selector: Selector
    let waitWhenFull: Bool
    let batch: Int

    // Published counters (single writer: this worker).
    let packets = Counter()
    let bytes = Counter()
    let decodeIncomplete = Counter()
    /// Outer packets of this engine's own tunnel ports, dropped before selection.
    let ownOutput = Counter()
    /// What those outer packets look like (usually empty).
    let ownTraffic: [OwnTraffic]
    /// The source's flow table (TCP sequence state for cuts), when flows are tracked.
    let flows: FlowTable?
    let selected: [Counter]
    let ringFull: [Counter]
    let finished = Atomic<Bool>(false)
    /// A selector with reloaded rules, handed over by `replaceSelector` and taken at the start
    /// of the next batch (one atomic exchange per batch; nothing per packet).
    let pendingSelector = Atomic<Unmanaged<Selector>?>(nil)
    let stopRequested = Atomic<Bool>(false)
    private(set) var failure: String?
    /// Clearance enforcement (per-port label drops); nil when the config has no labels.
    var labelGate: LabelGate?

    init(index: UInt16, source: any PacketSource, rings: [PacketRing], selector: Selector, waitWhenFull: Bool, batch: Int = 256,
         ownTraffic: [OwnTraffic] = [], flows: FlowTable? = nil) {
        self.ownTraffic = ownTraffic
        self.flows = flows
        self.index = index
        self.source = source
        self.description = source.description
        self.rings = rings
        self.selector = selector
        self.waitWhenFull = waitWhenFull
        self.batch = batch
        selected = rings.map { _ in Counter() }
        ringFull = rings.map { _ in Counter() }
    }

    /// Hands over a selector with new rules; the worker switches to it between two batches.
    func replaceSelector(_ next: Selector) {
        if let superseded = pendingSelector.exchange(.passRetained(next), ordering: .acquiringAndReleasing) {
            superseded.release()
        }
    }

    deinit {
        pendingSelector.exchange(nil, ordering: .acquiringAndReleasing)?.release()
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        source.stop()
    }

    /// The capture loop; returns at end of input, on stop, or on a fatal source error.
    func run() {
        defer {
            for ring in rings { ring.publish() }
            finished.store(true, ordering: .releasing)
        }
        let portCount = rings.count
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
        // Tunnel ports' outer packets, in a flat table: with no tunnel port the per-packet
        // cost is one compare of the count.
        let ownCount = ownTraffic.count
        let ownTable = UnsafeMutableBufferPointer<OwnTraffic>.allocate(capacity: max(ownCount, 1))
        _ = ownTable.initialize(from: ownTraffic)
        defer {
            ownTable.baseAddress!.deinitialize(count: ownCount)
            ownTable.deallocate()
        }
        let localSelected = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: portCount)
        let localFull = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: portCount)
        localSelected.initialize(repeating: 0)
        localFull.initialize(repeating: 0)
        defer {
            localSelected.deallocate()
            localFull.deallocate()
        }
        // Unmanaged references: `rings` keeps them alive for the whole loop, so the per-packet
        // push needs no retain/release pair (2–3 % of the loop in a profile).
        let ringTable = UnsafeMutableBufferPointer<Unmanaged<PacketRing>>.allocate(capacity: portCount)
        _ = ringTable.initialize(from: rings.map { Unmanaged.passUnretained($0) })
        defer {
            ringTable.deinitialize()
            ringTable.deallocate()
        }
        var selector = self.selector
        let waitWhenFull = self.waitWhenFull
        let flowTable = self.flows
        let labelGate = self.labelGate

        func publishCounters() {
            selector.publishCounters()
            packets.publish(localPackets)
            bytes.publish(localBytes)
            decodeIncomplete.publish(localIncomplete)
            ownOutput.publish(localOwn)
            for p in 0..<portCount {
                selected[p].publish(localSelected[p])
                ringFull[p].publish(localFull[p])
            }
        }

        while !stopRequested.load(ordering: .relaxed) {
            if let next = pendingSelector.exchange(nil, ordering: .acquiringAndReleasing) {
                selector.publishCounters()
                selector = next.takeRetainedValue()
            }
            let selector = selector
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
            publishCounters()
            if outcome == .endOfInput { break }
        }
        publishCounters()
    }
}
