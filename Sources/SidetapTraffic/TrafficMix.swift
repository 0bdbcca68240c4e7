/// The shape of generated traffic: packet-level shares per protocol, VLAN and IP version,
/// how many conversations run at once, and where the clock starts.
public struct TrafficMix: Sendable, Hashable {
    /// Share of packets that are TCP.
    public var tcpShare: Double = 0.80
    /// Share of packets that are UDP (DNS, NTP, syslog, media streams); ICMP takes the rest.
    public var udpShare: Double = 0.17
    /// Share of packets carrying an 802.1Q tag.
    public var taggedShare: Double = 0.10
    /// Share of packets that are IPv6.
    public var ipv6Share: Double = 0.08
    /// VLAN IDs tagged conversations use.
    public var vlanIDs: [UInt16] = [100, 200, 300]
    /// Live TCP conversations per class before new ones wait.
    public var concurrentTCP = 12
    /// Live conversations per class for UDP and ICMP.
    public var concurrentOther = 4
    /// Time of the first packet: 2026-01-01T00:00:00Z, in nanoseconds since the Unix epoch.
    public var startNanos: Int64 = 1_767_225_600_000_000_000

    public init() {}

    /// The mix of a busy guest host: 80 % TCP, 17 % UDP, 3 % ICMP, 10 % tagged, 8 % IPv6.
    public static let guestHost = TrafficMix()
}
