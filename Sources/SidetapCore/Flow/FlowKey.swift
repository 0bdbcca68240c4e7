/// A bidirectional flow: both directions of a conversation give the same key.
///
/// The endpoints are stored in canonical order (the lower address/port first), so a packet
/// and its reply map to one key; `FlowKey.make` also says which way the packet went.
/// Fragments are keyed without ports (non-first fragments carry none), so a fragmented
/// datagram stays in one flow. Packets without an IP layer are keyed by MAC and EtherType.
public struct FlowKey: Hashable, Sendable, CustomStringConvertible {
    public var lowerAddress: IPAddress
    public var upperAddress: IPAddress
    public var lowerPort: UInt16
    public var upperPort: UInt16
    /// IP protocol, or 0 for a non-IP packet.
    public var ipProtocol: UInt8
    /// Outer VLAN ID, or 0xFFFF when untagged.
    public var vlan: UInt16

    public init(lowerAddress: IPAddress, upperAddress: IPAddress, lowerPort: UInt16, upperPort: UInt16, ipProtocol: UInt8, vlan: UInt16) {
        self.lowerAddress = lowerAddress
        self.upperAddress = upperAddress
        self.lowerPort = lowerPort
        self.upperPort = upperPort
        self.ipProtocol = ipProtocol
        self.vlan = vlan
    }

    /// The key for a decoded packet, and whether the packet travels from upper to lower.
    @inlinable
    public static func make(_ packet: DecodedPacket) -> (key: FlowKey, reversed: Bool) {
        let vlan: UInt16 = packet.vlanCount > 0 ? packet.outerVLAN : 0xFFFF
        var sourceAddress: IPAddress
        var destinationAddress: IPAddress
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
        if packet.ipVersion != 0 {
            sourceAddress = packet.source
            destinationAddress = packet.destination
            if !packet.isFragment && packet.hasPorts {
                sourcePort = packet.sourcePort
                destinationPort = packet.destinationPort
            }
        } else {
            sourceAddress = IPAddress(high: 0, low: packet.sourceMAC)
            destinationAddress = IPAddress(high: 0, low: packet.destinationMAC)
            sourcePort = packet.etherType
            destinationPort = packet.etherType
        }
        let reversed = destinationAddress < sourceAddress
            || (destinationAddress == sourceAddress && destinationPort < sourcePort)
        if reversed {
            swap(&sourceAddress, &destinationAddress)
            swap(&sourcePort, &destinationPort)
        }
        let key = FlowKey(
            lowerAddress: sourceAddress, upperAddress: destinationAddress,
            lowerPort: sourcePort, upperPort: destinationPort,
            ipProtocol: packet.ipVersion != 0 ? packet.ipProtocol : 0, vlan: vlan)
        return (key, reversed)
    }

    /// A 32-bit hash that is the same for both directions of the flow and across runs
    /// (no per-process seed), so balancing and sampling decisions are stable.
    @inlinable
    public var symmetricHash: UInt32 {
        // Each word gets its own odd multiplier, the sum is finalized once: one multiply per
        // word plus one finalizer, instead of a full mixing round per word.
        var h = lowerAddress.high &* 0x9E37_79B9_7F4A_7C15
        h &+= lowerAddress.low &* 0xC2B2_AE3D_27D4_EB4F
        h &+= upperAddress.high &* 0x1656_67B1_9E37_79F9
        h &+= upperAddress.low &* 0x85EB_CA77_C2B2_AE63
        h &+= (UInt64(lowerPort) << 48 | UInt64(upperPort) << 32 | UInt64(ipProtocol) << 16 | UInt64(vlan)) &* 0x27D4_EB2F_1656_67C5
        h = FlowKey.mix(h)
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    /// A 64-bit finalizer (from the MurmurHash3/SplitMix family): cheap and well mixed.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Derives an independent value from a flow hash and a salt (per port, per rule), for
    /// sampling and balancing decisions that must not correlate with each other.
    @inlinable
    public static func derive(_ hash: UInt32, salt: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: mix(UInt64(hash) ^ (salt &* 0xD6E8_FEB8_6659_FD93)) >> 16)
    }

    public var description: String {
        let v = vlan == 0xFFFF ? "" : " vlan \(vlan)"
        return "\(ipProtocol) \(lowerAddress):\(lowerPort) <-> \(upperAddress):\(upperPort)\(v)"
    }
}
