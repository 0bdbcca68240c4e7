/// Where and why decoding stopped.
///
/// A packet always decodes "as far as it is valid": the layers before `layer` are filled in,
/// and `reason` says why nothing past `offset` was read.
public struct DecodeStop: Sendable, Hashable, CustomStringConvertible {
    /// The layer the decoder was looking at when it stopped.
    public var layer: Layer
    /// Why it stopped.
    public var reason: Reason
    /// Byte offset in the captured packet where that layer starts.
    public var offset: Int

    public init(layer: Layer, reason: Reason, offset: Int) {
        self.layer = layer
        self.reason = reason
        self.offset = offset
    }

    /// The decoder read every header it knows and reached the payload (or a layer it does not decode).
    @inlinable @inline(__always)
    public var isComplete: Bool { reason == .complete || reason == .unsupported }

    /// Protocol layers the decoder knows.
    public enum Layer: UInt8, Sendable, Hashable, CustomStringConvertible {
        case link, vlan, ipv4, ipv6, ipv6Extension, tcp, udp, icmp, icmpv6, payload
        public var description: String {
            switch self {
            case .link: "link"
            case .vlan: "802.1Q"
            case .ipv4: "IPv4"
            case .ipv6: "IPv6"
            case .ipv6Extension: "IPv6 extension header"
            case .tcp: "TCP"
            case .udp: "UDP"
            case .icmp: "ICMP"
            case .icmpv6: "ICMPv6"
            case .payload: "payload"
            }
        }
    }

    /// Why decoding stopped.
    public enum Reason: UInt8, Sendable, Hashable, CustomStringConvertible {
        /// All known headers decoded; `layer` is `.payload`.
        case complete
        /// The next layer is one Sidetap does not decode (ARP, SCTP, non-first fragment, …).
        case unsupported
        /// The capture ended inside this header (snaplen or a short file).
        case truncated
        /// A header field is invalid (bad version, header length, total length, …).
        case malformed
        /// The link type is not one Sidetap decodes.
        case unknownLinkType
        public var description: String {
            switch self {
            case .complete: "complete"
            case .unsupported: "unsupported"
            case .truncated: "truncated"
            case .malformed: "malformed"
            case .unknownLinkType: "unknown link type"
            }
        }
    }

    public var description: String { "\(reason) at \(layer) (offset \(offset))" }
}
