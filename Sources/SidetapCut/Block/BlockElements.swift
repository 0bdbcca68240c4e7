import SidetapCore

/// The set elements one `BlockTarget` becomes: which of Sidetap's sets each goes into and its
/// nftables text. Built only from typed values (addresses from `IPAddress`, numbers), so no
/// caller-supplied text ever reaches nft.
///
/// - A flow with ports becomes two elements of `flow4`/`flow6`, one per direction
///   (`saddr . proto . sport . daddr . dport`), so one rule matches either way.
/// - A flow whose protocol carries no ports (ICMP), or whose ports are both 0, becomes two
///   elements of `pair4`/`pair6` (`saddr . proto . daddr`).
/// - A network becomes one element of `net4`/`net6` (interval sets) with its host bits cleared.
struct BlockElements: Hashable, Sendable {
    /// One set element.
    struct Element: Hashable, Sendable {
        /// The set's name inside Sidetap's tables (`flow4`, `pair6`, `net4`, …).
        var set: String
        /// The element's key as nftables text, without a timeout.
        var key: String
    }

    var elements: [Element]

    /// IP protocols whose first four transport bytes are source and destination ports, which
    /// is what nftables' `th sport` / `th dport` read: TCP, UDP, DCCP, SCTP, UDP-Lite.
    static let protocolsWithPorts: Set<UInt8> = [6, 17, 33, 132, 136]

    /// The longest TTL accepted: one year.
    static let maximumTTL = 365 * 86_400

    /// Validates a target and turns it into set elements; throws `CutError.failed` naming the
    /// problem for an unusable target.
    init(_ target: BlockTarget) throws {
        switch target {
        case .flow(let key):
            elements = try Self.flowElements(key)
        case .network(let address, let prefixLength):
            let network = try Self.network(address, prefixLength: prefixLength)
            let set = address.isIPv4 ? "net4" : "net6"
            elements = [Element(set: set, key: "\(network.address)/\(network.prefixLength)")]
        }
    }

    /// The network's address with host bits cleared, after checking the prefix length.
    static func network(_ address: IPAddress, prefixLength: Int) throws -> (address: IPAddress, prefixLength: Int) {
        let bits = address.isIPv4 ? 32 : 128
        guard (0...bits).contains(prefixLength) else {
            throw CutError.failed(operation: "block \(address)/\(prefixLength)",
                                  reason: "prefix length \(prefixLength) is outside 0–\(bits) for an \(address.isIPv4 ? "IPv4" : "IPv6") address")
        }
        if address.isIPv4 {
            let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength)
            return (IPAddress(ipv4: address.ipv4Value & mask), prefixLength)
        }
        let highBits = min(prefixLength, 64), lowBits = max(prefixLength - 64, 0)
        let highMask: UInt64 = highBits == 0 ? 0 : ~UInt64(0) << UInt64(64 - highBits)
        let lowMask: UInt64 = lowBits == 0 ? 0 : ~UInt64(0) << UInt64(64 - lowBits)
        return (IPAddress(high: address.high & highMask, low: address.low & lowMask), prefixLength)
    }

    private static func flowElements(_ key: FlowKey) throws -> [Element] {
        let operation = "block \(BlockTarget.flow(key))"
        guard key.ipProtocol != 0 else {
            throw CutError.failed(operation: operation, reason: "the flow is not IP (protocol 0); only IP flows can be blocked")
        }
        guard key.lowerAddress.isIPv4 == key.upperAddress.isIPv4 else {
            throw CutError.failed(operation: operation, reason: "the two addresses are of different IP versions")
        }
        let family = key.lowerAddress.isIPv4 ? "4" : "6"
        let a = key.lowerAddress, b = key.upperAddress, proto = key.ipProtocol
        let hasPorts = Self.protocolsWithPorts.contains(proto) && (key.lowerPort != 0 || key.upperPort != 0)
        if hasPorts {
            return [
                Element(set: "flow" + family, key: "\(a) . \(proto) . \(key.lowerPort) . \(b) . \(key.upperPort)"),
                Element(set: "flow" + family, key: "\(b) . \(proto) . \(key.upperPort) . \(a) . \(key.lowerPort)"),
            ]
        }
        guard key.lowerPort == 0 && key.upperPort == 0 else {
            throw CutError.failed(operation: operation, reason: "protocol \(proto) carries no ports, so the ports must be 0")
        }
        var result = [Element(set: "pair" + family, key: "\(a) . \(proto) . \(b)")]
        if a != b { result.append(Element(set: "pair" + family, key: "\(b) . \(proto) . \(a)")) }
        return result
    }

    /// Checks a TTL: 1 second to `maximumTTL`.
    static func validate(ttlSeconds: Int, for target: BlockTarget) throws {
        guard (1...maximumTTL).contains(ttlSeconds) else {
            throw CutError.failed(operation: "block \(target)",
                                  reason: "TTL \(ttlSeconds) s is outside 1–\(maximumTTL) s")
        }
    }
}
