import SidetapCore

/// An IPv4 or IPv6 network: an address family, a network address and a 128-bit mask.
///
/// IPv4 networks are stored IPv4-mapped like `IPAddress`, and match only IPv4 packets;
/// IPv6 networks match only IPv6 packets (so `::/0` does not match IPv4 traffic).
struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 6.
    var version: UInt8
    var network: IPAddress
    var maskHigh: UInt64
    var maskLow: UInt64
    /// Prefix length as written (0–32 for IPv4, 0–128 for IPv6).
    var prefixLength: Int

    init(version: UInt8, network: IPAddress, prefixLength: Int) {
        self.version = version
        self.prefixLength = prefixLength
        let bits = version == 4 ? 96 + prefixLength : prefixLength
        maskHigh = bits >= 64 ? ~0 : (bits == 0 ? 0 : ~0 << UInt64(64 - bits))
        maskLow = bits <= 64 ? 0 : (bits == 128 ? ~0 : ~0 << UInt64(128 - bits))
        self.network = network
    }

    /// True when `address` of a packet with IP version `version` lies in this network.
    @inline(__always)
    func contains(_ address: IPAddress, version packetVersion: UInt8) -> Bool {
        packetVersion == version
            && address.high & maskHigh == network.high
            && address.low & maskLow == network.low
    }

    /// True when the address has bits set beyond the prefix.
    var hasHostBits: Bool {
        network.high & ~maskHigh != 0 || network.low & ~maskLow != 0
    }

    var description: String {
        let full = version == 4 ? 32 : 128
        return prefixLength == full ? "\(network)" : "\(network)/\(prefixLength)"
    }

    /// This network with host bits cleared, for the "did you mean" hint.
    var masked: CIDR {
        var copy = self
        copy.network = IPAddress(high: network.high & maskHigh, low: network.low & maskLow)
        return copy
    }
}
