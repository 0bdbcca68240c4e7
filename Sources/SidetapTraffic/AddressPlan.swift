import SidetapCore

/// The addresses generated traffic uses: two guest subnets, an infrastructure subnet and an
/// "outside" range reached through a gateway. Only 10.0.0.0/8 and fd00::/16, and only
/// locally administered MACs (02:…).
public enum AddressPlan {
    /// First guest subnet, 10.0.1.0/24 (fd00:1::/64).
    public static let guestSubnetA: UInt8 = 1
    /// Second guest subnet, 10.0.2.0/24 (fd00:2::/64).
    public static let guestSubnetB: UInt8 = 2
    /// The outside (north-south) range, 10.99.0.0/16 (fd00:99::/64).
    public static let outsideSecondOctet: UInt8 = 99
    /// The router every outside-bound frame is addressed to.
    public static let gatewayMAC: UInt64 = 0x02_00_00_00_00_01
    /// The site resolver, 10.0.0.53 (fd00::53).
    public static let resolverHost: UInt16 = 53

    /// MAC of a host inside 10.0.0.0/16: 02:00:0a:00:<subnet>:<host>.
    @inlinable
    public static func mac(subnet: UInt8, host: UInt8) -> UInt64 {
        0x02_00_0A_00_00_00 | UInt64(subnet) << 8 | UInt64(host)
    }

    /// 10.0.<subnet>.<host>, or fd00:<subnet>::<host> for IPv6.
    @inlinable
    public static func inside(subnet: UInt8, host: UInt8, ipv6: Bool) -> IPAddress {
        if ipv6 { return IPAddress(high: 0xFD00_0000_0000_0000 | UInt64(subnet) << 32, low: UInt64(host)) }
        return IPAddress(ipv4: 0x0A00_0000 | UInt32(subnet) << 8 | UInt32(host))
    }

    /// 10.99.<a>.<b>, or fd00:99::<a>:<b> for IPv6.
    @inlinable
    public static func outside(_ a: UInt8, _ b: UInt8, ipv6: Bool) -> IPAddress {
        if ipv6 { return IPAddress(high: 0xFD00_0099_0000_0000, low: UInt64(a) << 16 | UInt64(b)) }
        return IPAddress(ipv4: 0x0A63_0000 | UInt32(a) << 8 | UInt32(b))
    }
}

/// One side of a generated conversation.
struct Endpoint {
    var address: IPAddress
    var mac: UInt64
    var port: UInt16
    /// TTL / hop limit of packets this side sends as seen at the tap.
    var hopLimit: UInt8

    /// A guest (or infrastructure) host: its own MAC, full TTL.
    static func inside(subnet: UInt8, host: UInt8, port: UInt16, ipv6: Bool) -> Endpoint {
        Endpoint(
            address: AddressPlan.inside(subnet: subnet, host: host, ipv6: ipv6),
            mac: AddressPlan.mac(subnet: subnet, host: host), port: port, hopLimit: 64)
    }

    /// A random outside host, reached through the gateway, some hops away.
    static func outside(_ random: inout SeededRandom, port: UInt16, ipv6: Bool) -> Endpoint {
        let a = UInt8(random.below(256))
        let b = UInt8(random.inRange(1...254))
        return Endpoint(
            address: AddressPlan.outside(a, b, ipv6: ipv6), mac: AddressPlan.gatewayMAC,
            port: port, hopLimit: UInt8(64 - random.inRange(4...14)))
    }

    /// A random guest in `subnet`, hosts .10 … .60.
    static func guest(_ random: inout SeededRandom, subnet: UInt8, port: UInt16, ipv6: Bool) -> Endpoint {
        inside(subnet: subnet, host: UInt8(random.inRange(10...60)), port: port, ipv6: ipv6)
    }

    /// A client port from the Linux ephemeral range.
    static func ephemeralPort(_ random: inout SeededRandom) -> UInt16 {
        UInt16(random.inRange(32768...60999))
    }
}

/// The two ends of a conversation and how its frames are framed.
struct FlowContext {
    var client: Endpoint
    var server: Endpoint
    /// 802.1Q VLAN ID, 0 when untagged.
    var vlan: UInt16
    var ipv6: Bool
}
