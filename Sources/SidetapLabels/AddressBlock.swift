import SidetapCore

/// An address block a guest owns (`10.0.0.5/32`, `fd00::/64`), for labelling the packets that
/// carry one of its addresses. IPv4 blocks match IPv4 (mapped) addresses only.
public struct AddressBlock: Sendable, Hashable, CustomStringConvertible {
    /// The network address, host bits clear.
    public var address: IPAddress
    /// 0–32 for IPv4, 0–128 for IPv6.
    public var prefixLength: Int
    @usableFromInline var maskHigh: UInt64
    @usableFromInline var maskLow: UInt64

    /// Reads `a.b.c.d/n`, `x::y/n` or a bare address (one host); host bits must be clear.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        let maximum = address.isIPv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(parts[1]),
                  value <= maximum else { return nil }
            length = value
        }
        self.init(address: address, prefixLength: length)
        guard self.address == address else { return nil }
    }

    /// A block from an address, clearing its host bits.
    public init(address: IPAddress, prefixLength: Int) {
        let bits = address.isIPv4 ? 96 + prefixLength : prefixLength
        maskHigh = bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits))
        maskLow = bits <= 64 ? 0 : bits >= 128 ? .max : ~(UInt64.max >> UInt64(bits - 64))
        self.address = IPAddress(high: address.high & maskHigh, low: address.low & maskLow)
        self.prefixLength = prefixLength
    }

    /// True when `candidate` lies in the block.
    @inlinable
    public func contains(_ candidate: IPAddress) -> Bool {
        if address.isIPv4 && !candidate.isIPv4 { return false }
        return candidate.high & maskHigh == address.high && candidate.low & maskLow == address.low
    }

    /// True when the two blocks share at least one address.
    public func overlaps(_ other: AddressBlock) -> Bool {
        contains(other.address) || other.contains(address)
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
