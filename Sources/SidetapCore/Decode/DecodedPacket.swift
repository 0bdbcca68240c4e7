/// What the decoder learnt about one packet: offsets into the captured bytes and the fields
/// the selector, the flow table and the cutter need. Plain values, no references: decoding
/// into a reused `DecodedPacket` allocates nothing.
public struct DecodedPacket: Sendable {
    /// Link type the packet was decoded as.
    public var linkType: LinkType = .ethernet
    /// Direction from the link header (SLL/SLL2) or the source; `.unknown` otherwise.
    public var direction: PacketDirection = .unknown
    /// Number of VLAN tags seen (0, 1, 2, or more; only the first two are kept).
    public var vlanCount: UInt8 = 0
    /// Outermost VLAN ID (valid when `vlanCount ≥ 1`).
    public var outerVLAN: UInt16 = 0
    /// Second VLAN ID, the customer tag in QinQ (valid when `vlanCount ≥ 2`).
    public var innerVLAN: UInt16 = 0
    /// EtherType of the network layer (after any VLAN tags); 0 for raw-IP link types until known.
    public var etherType: UInt16 = 0
    /// Source and destination MAC (48-bit) for Ethernet; 0 otherwise.
    public var sourceMAC: UInt64 = 0
    public var destinationMAC: UInt64 = 0

    /// Offset of the IP header, or -1 when there is none.
    public var networkOffset: Int = -1
    /// Offset of the transport header, or -1 when there is none.
    public var transportOffset: Int = -1
    /// Offset of the transport payload, or -1 when it was not reached.
    public var payloadOffset: Int = -1
    /// One past the last byte of the IP datagram within the capture (excludes Ethernet padding).
    public var networkEnd: Int = 0
    /// One past the last byte of the IP datagram as its length field states it: beyond the
    /// capture when the capture was truncated (TCP sequence space needs the real length).
    /// Equal to `networkEnd` when the length field is zero (TSO) or there is no IP layer.
    public var datagramEnd: Int = 0

    /// 4 or 6 when an IP header was decoded, 0 otherwise.
    public var ipVersion: UInt8 = 0
    public var source: IPAddress = .zero
    public var destination: IPAddress = .zero
    /// Upper-layer protocol: after the IPv6 extension-header chain; 0 when there is no IP layer.
    public var ipProtocol: UInt8 = 0
    /// IPv4 TTL or IPv6 hop limit.
    public var hopLimit: UInt8 = 0
    /// True when the datagram is a fragment (first or later).
    public var isFragment: Bool = false
    /// Fragment offset in bytes (0 for the first fragment).
    public var fragmentOffset: UInt16 = 0
    /// More-fragments flag.
    public var moreFragments: Bool = false

    /// TCP/UDP ports (0 when absent); for ICMP they stay 0.
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var tcpFlags: TCPFlags = []
    public var tcpSequence: UInt32 = 0
    public var tcpAcknowledgment: UInt32 = 0
    public var tcpWindow: UInt16 = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0

    /// Where decoding ended and why.
    public var stop = DecodeStop(layer: .link, reason: .truncated, offset: 0)

    @inlinable
    public init() {}

    /// True when a TCP header was decoded.
    @inlinable public var hasTCP: Bool { transportOffset >= 0 && ipProtocol == IPProtocolNumber.tcp }
    /// True when a UDP header was decoded.
    @inlinable public var hasUDP: Bool { transportOffset >= 0 && ipProtocol == IPProtocolNumber.udp }
    /// True when the transport header carrying ports was decoded.
    @inlinable public var hasPorts: Bool {
        transportOffset >= 0 && (ipProtocol == IPProtocolNumber.tcp || ipProtocol == IPProtocolNumber.udp
            || ipProtocol == IPProtocolNumber.sctp)
    }
}
