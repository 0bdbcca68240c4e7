import CPcap

/// Which packets of an interface a live capture sees (`pcap_setdirection`).
///
/// "In" is what the interface received, "out" what it sent. For the host side of a guest's
/// link — a libvirt `vnetN` tap, a veth whose peer is in the guest — "in" is what the guest
/// sent and "out" is what it receives.
public enum CaptureDirection: String, Sendable, Hashable, CaseIterable {
    /// PCAP_D_IN: packets received by the interface.
    case `in`
    /// PCAP_D_OUT: packets sent by the interface.
    case out
    /// PCAP_D_INOUT: both.
    case both

    /// libpcap's value.
    var pcapValue: pcap_direction_t {
        switch self {
        case .in: PCAP_D_IN
        case .out: PCAP_D_OUT
        case .both: PCAP_D_INOUT
        }
    }

    /// The pcap-filter primitive that selects this direction in the kernel (`inbound` and
    /// `outbound` compile to a load of the socket's packet type, which only a live Linux
    /// capture evaluates), or nil for both.
    public var filterPrimitive: String? {
        switch self {
        case .in: "inbound"
        case .out: "outbound"
        case .both: nil
        }
    }
}
