import SidetapCore

/// The fields of a packet that flow-only rules look at. Every one of them is fixed for a
/// directed flow (the flow key, its direction, source and capture direction), which is what
/// lets the selector cache flow-only decisions per flow.
struct FlowFacts {
    var source: IPAddress
    var destination: IPAddress
    var sourcePort: UInt16
    var destinationPort: UInt16
    /// True when a TCP, UDP or SCTP header carrying ports was decoded.
    var hasPorts: Bool
    /// 4, 6, or 0 when the packet has no (valid) IP header.
    var ipVersion: UInt8
    var ipProtocol: UInt8
    /// Outer VLAN ID, or `FlowFacts.untagged`.
    var vlan: UInt16
    var direction: PacketDirection
    var sourceIndex: UInt16

    static let untagged: UInt16 = 0xFFFF

    @inline(__always)
    init(_ decoded: DecodedPacket, direction: PacketDirection, sourceIndex: UInt16) {
        source = decoded.source
        destination = decoded.destination
        hasPorts = decoded.hasPorts
        sourcePort = hasPorts ? decoded.sourcePort : 0
        destinationPort = hasPorts ? decoded.destinationPort : 0
        ipVersion = decoded.ipVersion
        ipProtocol = decoded.ipVersion != 0 ? decoded.ipProtocol : 0
        vlan = decoded.vlanCount > 0 ? decoded.outerVLAN : FlowFacts.untagged
        self.direction = direction
        self.sourceIndex = sourceIndex
    }
}
