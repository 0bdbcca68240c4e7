/// A capture's link-layer header type, as a LINKTYPE_ value from the pcap/pcapng file formats.
///
/// libpcap's `pcap_datalink` returns DLT_ values; `LinkType(dlt:)` maps the few that differ
/// (DLT_RAW is 12 or 14 depending on the platform, LINKTYPE_RAW is 101 everywhere).
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte host-order address family.
    public static let null = LinkType(rawValue: 0)
    /// Ethernet (DLT_EN10MB).
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP, version taken from the first nibble.
    public static let raw = LinkType(rawValue: 101)
    /// OpenBSD loopback: a 4-byte network-order address family.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture v1 (what `any` gives on older libpcap).
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4.
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6.
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture v2 (what `any` gives on libpcap ≥ 1.10).
    public static let linuxSLL2 = LinkType(rawValue: 276)

    /// Maps a libpcap DLT_ value to the file-format LINKTYPE_ value.
    public init(dlt: Int32) {
        switch dlt {
        case 12, 14: self = .raw   // DLT_RAW differs between platforms
        default: self.init(rawValue: dlt)
        }
    }

    /// The DLT_ value libpcap expects for `pcap_open_dead` on this platform.
    public var dlt: Int32 {
        self == .raw ? 12 : rawValue
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "EN10MB"
        case .raw: "RAW"
        case .loop: "LOOP"
        case .linuxSLL: "LINUX_SLL"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        case .linuxSLL2: "LINUX_SLL2"
        default: "LINKTYPE_\(rawValue)"
        }
    }
}
