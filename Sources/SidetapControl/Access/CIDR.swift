import SidetapCore

/// An IPv4 or IPv6 network: an address and a prefix length. IPv4 networks match only
/// IPv4(-mapped) addresses; an IPv6 network such as `::/0` or `::ffff:0:0/96` that covers the
/// mapped range matches IPv4 addresses too.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network address (host bits zero).
    public let address: IPAddress
    /// Prefix bits: 0–32 for IPv4, 0–128 for IPv6.
    public let prefixLength: Int

    /// Reads `a.b.c.d/n`, `x:…:y/n`, or a bare address (a single host: /32 or /128).
    /// Host bits must be zero (`10.1.2.3/8` is refused as probably a typo).
    public init(parsing text: String) throws(CIDRError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { throw .badAddress(text) }
        let maximum = address.isIPv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...maximum).contains(value), parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw .badPrefix(text, maximum: maximum)
            }
            length = value
        }
        let network = CIDR.mask(address, bits: address.isIPv4 ? 96 + length : length)
        guard network == address else { throw .hostBitsSet(text, network: "\(network)/\(length)") }
        self.address = address
        self.prefixLength = length
    }

    /// A network from an address with its host bits already clear (see `masked`).
    public init(address: IPAddress, prefixLength: Int) {
        self.address = CIDR.mask(address, bits: address.isIPv4 ? 96 + prefixLength : prefixLength)
        self.prefixLength = prefixLength
    }

    /// Parses like `init(parsing:)`, with the problem as a `ParseProblem`.
    public static func parse(_ text: String) -> Result<CIDR, ParseProblem> {
        do {
            return .success(try CIDR(parsing: text))
        } catch {
            return .failure(ParseProblem(error.description))
        }
    }

    /// True when `candidate` lies in this network.
    public func contains(_ candidate: IPAddress) -> Bool {
        if address.isIPv4 && !candidate.isIPv4 { return false }
        return CIDR.mask(candidate, bits: bits128) == address
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private var bits128: Int { address.isIPv4 ? 96 + prefixLength : prefixLength }

    private static func mask(_ address: IPAddress, bits: Int) -> IPAddress {
        func keep(_ word: UInt64, _ count: Int) -> UInt64 {
            count <= 0 ? 0 : count >= 64 ? word : word & ~(UInt64.max >> UInt64(count))
        }
        return IPAddress(high: keep(address.high, bits), low: keep(address.low, bits - 64))
    }
}

/// Why a network could not be read.
public enum CIDRError: Error, Sendable, Hashable, CustomStringConvertible {
    case badAddress(String)
    case badPrefix(String, maximum: Int)
    case hostBitsSet(String, network: String)

    public var description: String {
        switch self {
        case .badAddress(let text): return "\"\(text)\" is not an IPv4 or IPv6 address or network"
        case .badPrefix(let text, let maximum): return "\"\(text)\" has a prefix length outside 0–\(maximum)"
        case .hostBitsSet(let text, let network): return "\"\(text)\" has host bits set (did you mean \(network)?)"
        }
    }
}
