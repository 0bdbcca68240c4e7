import SidetapCore

/// A connection as an appliance names it: protocol, source and destination with ports.
/// The direction does not matter for cutting; it is kept as given for records and audit.
public struct FlowTuple: Sendable, Hashable, Encodable, CustomStringConvertible {
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, …).
    public var ipProtocol: UInt8
    public var source: IPAddress
    public var sourcePort: UInt16
    public var destination: IPAddress
    public var destinationPort: UInt16

    public init(ipProtocol: UInt8, source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16) {
        self.ipProtocol = ipProtocol
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
    }

    /// The canonical flow key (untagged; lookups also accept the flow on any VLAN).
    public var key: FlowKey {
        var a = (source, sourcePort)
        var b = (destination, destinationPort)
        if b.0 < a.0 || (b.0 == a.0 && b.1 < a.1) { swap(&a, &b) }
        return FlowKey(lowerAddress: a.0, upperAddress: b.0, lowerPort: a.1, upperPort: b.1, ipProtocol: ipProtocol, vlan: 0xFFFF)
    }

    /// True when `key` is this connection in either direction, on any VLAN.
    public func matches(_ other: FlowKey) -> Bool {
        let mine = key
        return other.ipProtocol == mine.ipProtocol && other.lowerAddress == mine.lowerAddress && other.upperAddress == mine.upperAddress
            && other.lowerPort == mine.lowerPort && other.upperPort == mine.upperPort
    }

    /// Protocols whose flows carry ports.
    public var hasPorts: Bool { ipProtocol == 6 || ipProtocol == 17 || ipProtocol == 132 }

    public var protocolName: String { ProtocolNames.name(of: ipProtocol) }

    public var description: String {
        hasPorts
            ? "\(protocolName) \(Endpoint.text(source, sourcePort)) -> \(Endpoint.text(destination, destinationPort))"
            : "\(protocolName) \(source) -> \(destination)"
    }

    enum CodingKeys: String, CodingKey {
        case ipProtocol = "protocol", source, sourcePort = "source_port", destination, destinationPort = "destination_port"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(protocolName, forKey: .ipProtocol)
        try c.encode(source.description, forKey: .source)
        try c.encode(destination.description, forKey: .destination)
        if hasPorts {
            try c.encode(sourcePort, forKey: .sourcePort)
            try c.encode(destinationPort, forKey: .destinationPort)
        }
    }
}

/// A parse failure with a message for the user.
public struct ParseProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a cut applies to: one connection (both directions) or a host or network.
public enum CutTarget: Sendable, Hashable, CustomStringConvertible {
    case flow(FlowTuple)
    case network(CIDR)

    /// The addresses an authorization scope is checked against.
    public var addresses: [IPAddress] {
        switch self {
        case .flow(let tuple): return [tuple.source, tuple.destination]
        case .network(let prefix): return [prefix.address]
        }
    }

    /// The kernel block for this target.
    public var blockTarget: BlockTarget {
        switch self {
        case .flow(let tuple):
            var key = tuple.key
            if !tuple.hasPorts {
                key.lowerPort = 0
                key.upperPort = 0
            }
            return .flow(key)
        case .network(let prefix): return .network(prefix.address, prefixLength: prefix.prefixLength)
        }
    }

    public var description: String {
        switch self {
        case .flow(let tuple): return tuple.description
        case .network(let prefix): return "network \(prefix)"
        }
    }
}

/// IP protocol names used in requests and answers.
public enum ProtocolNames {
    static let known: [(String, UInt8)] = [("tcp", 6), ("udp", 17), ("icmp", 1), ("icmp6", 58), ("sctp", 132)]

    /// "tcp", "udp", "icmp", "icmp6", "sctp", or a number 0–255.
    public static func number(of name: String) -> UInt8? {
        let lower = name.lowercased()
        if lower == "icmpv6" { return 58 }
        if let match = known.first(where: { $0.0 == lower }) { return match.1 }
        return UInt8(lower)
    }

    public static func name(of number: UInt8) -> String {
        known.first(where: { $0.1 == number })?.0 ?? "\(number)"
    }
}

/// Text forms of endpoints.
enum Endpoint {
    static func text(_ address: IPAddress, _ port: UInt16) -> String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
