import SidetapCore
import SidetapFlows
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

    init(epoch: UInt64, selector: Selector, lanes: [Lane], ownTraffic: [OwnTraffic]) {
        precondition(lanes.count <= 64, "a selector addresses at most 64 ports")
        self.epoch = epoch
        self.selector = selector
        self.lanes = lanes
        self.ownTraffic = ownTraffic
    }

    /// The same lanes with another selector (a rules-only reload).
    func with(selector: Selector, epoch: UInt64) -> FanOut {
        FanOut(epoch: epoch, selector: selector, lanes: lanes, ownTraffic: ownTraffic)
    }
}
