import SidetapCore
import SidetapFlows
import SidetapLabels
import SidetapRing
import SidetapSelect

/// The link from one source to one port: their SPSC ring (the source is its only producer,
/// the port worker its only consumer) and the counters the source keeps for that port.
///
/// A lane lives as long as its port worker: a reload that keeps a port keeps its lanes, so its
/// queued packets and its counters carry on.
final class Lane: @unchecked Sendable {
    let ring: PacketRing
    /// Packets the selector chose for this port (single writer: the source worker).
    let selected = Counter()
    /// Chosen packets dropped because this ring was full (single writer: the source worker).
    let ringFull = Counter()
    /// Chosen packets the port's clearance refused (single writer: the source worker's gate).
    let labelDropped = Counter()

    init(ring: PacketRing) {
        self.ring = ring
    }
}

/// What one source worker sends its packets to: the selector and one lane per port, where
/// lane `p` is the port with bit `p` in the selector's `PortSet`. Immutable; a reload builds a
/// new one and hands it to the worker, which takes it between two batches (one atomic
/// exchange per batch) and then acknowledges its `epoch`.
final class FanOut: @unchecked Sendable {
    /// Hand-over number, increasing with every reload (0 for the engine's start).
    let epoch: UInt64
    let selector: Selector
    let lanes: [Lane]
    /// Outer packets of the engine's own tunnel and socket ports, dropped before selection.
    let ownTraffic: [OwnTraffic]
    /// The source's clearance check for these lanes (nil without labels): its port masks
    /// follow the lanes' order, so every fan-out with other ports gets its own gate.
    let labelGate: LabelGate?

    init(epoch: UInt64, selector: Selector, lanes: [Lane], ownTraffic: [OwnTraffic], labelGate: LabelGate? = nil) {
        precondition(lanes.count <= 64, "a selector addresses at most 64 ports")
        self.epoch = epoch
        self.selector = selector
        self.lanes = lanes
        self.ownTraffic = ownTraffic
        self.labelGate = labelGate
    }

    /// The gate of source `sourceIndex` for `lanes` under `labels`, counting into the lanes.
    static func gate(_ labels: LabelAssignment?, sourceIndex: Int, lanes: [Lane]) -> LabelGate? {
        labels.map { LabelGate($0, sourceIndex: sourceIndex, dropCounters: lanes.map(\.labelDropped)) }
    }

    /// The same lanes with another selector (a rules-only reload).
    func with(selector: Selector, epoch: UInt64) -> FanOut {
        FanOut(epoch: epoch, selector: selector, lanes: lanes, ownTraffic: ownTraffic, labelGate: labelGate)
    }
}
