/// Which way a packet crossed the captured interface, when the capture tells.
///
/// Live sources know it from the capture direction or the packet type; Linux cooked captures
/// (SLL, SLL2) carry it in the header; classic Ethernet files do not, and give `.unknown`.
public enum PacketDirection: UInt8, Sendable, Hashable, CustomStringConvertible {
    case unknown = 0
    /// Received by the captured interface (for the host side of a guest's link — a libvirt
    /// vnetN tap or a veth whose peer is in the guest — sent by the guest).
    case inbound = 1
    /// Sent by the captured interface (for the host side of a guest's link: sent to the guest).
    case outbound = 2

    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .inbound: "in"
        case .outbound: "out"
        }
    }
}
