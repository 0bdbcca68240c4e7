import Foundation
import SidetapCore

/// A flow in JSON (`GET /v1/flows`).
public struct FlowView: Sendable, Hashable, Codable {
    /// One endpoint in JSON.
    public struct Side: Sendable, Hashable, Codable {
        public var address: String
        public var port: UInt16
        public var mac: String?
        public var packets: UInt64
        public var bytes: UInt64
        public var nextSequence: UInt32?
        public var acknowledgement: UInt32?
        public var window: UInt16?
        public var flags: String?

        init(_ endpoint: FlowEndpoint, tcp: Bool) {
            address = endpoint.address.description
            port = endpoint.port
            mac = endpoint.mac == 0 ? nil : Self.macText(endpoint.mac)
            packets = endpoint.packets
            bytes = endpoint.bytes
            nextSequence = endpoint.nextSequence
            acknowledgement = endpoint.acknowledgement
            window = tcp ? endpoint.window : nil
            flags = tcp ? Self.flagText(endpoint.flagsSeen) : nil
        }

        static func macText(_ mac: UInt64) -> String {
            (0..<6).map { String(format: "%02x", Int(mac >> UInt64(40 - 8 * $0) & 0xFF)) }.joined(separator: ":")
        }

        static func flagText(_ flags: TCPFlags) -> String {
            let names: [(TCPFlags, String)] = [(.syn, "S"), (.ack, "A"), (.fin, "F"), (.rst, "R"), (.psh, "P"), (.urg, "U")]
            return names.filter { flags.contains($0.0) }.map(\.1).joined()
        }

        enum CodingKeys: String, CodingKey {
            case address, port, mac, packets, bytes, window, flags
            case nextSequence = "next_sequence", acknowledgement
        }
    }

    public var `protocol`: String
    public var initiator: Side
    public var responder: Side
    public var firstSeen: Date
    public var lastSeen: Date
    public var source: String
    public var guest: String?
    public var interface: String?
    public var vlan: UInt16?

    public init(_ flow: FlowSnapshot) {
        let tcp = flow.key.ipProtocol == 6
        `protocol` = ProtocolNames.name(of: flow.key.ipProtocol)
        initiator = Side(flow.initiator, tcp: tcp)
        responder = Side(flow.responder, tcp: tcp)
        firstSeen = Date(timeIntervalSince1970: Double(flow.firstSeenNanos) / 1e9)
        lastSeen = Date(timeIntervalSince1970: Double(flow.lastSeenNanos) / 1e9)
        source = flow.source.name
        guest = flow.guest
        interface = flow.source.interface
        vlan = flow.vlanCount > 0 ? flow.outerVLAN : nil
    }

    enum CodingKeys: String, CodingKey {
        case `protocol`, initiator, responder, source, guest, interface, vlan
        case firstSeen = "first_seen", lastSeen = "last_seen"
    }
}

/// Filters of `GET /v1/flows`: guest, network (either endpoint in it), protocol, port
/// (either endpoint's), and how many at most.
public struct FlowFilter: Sendable, Hashable {
    public var guest: String?
    public var network: CIDR?
    public var ipProtocol: UInt8?
    public var port: UInt16?
    public var limit: Int

    public init(guest: String? = nil, network: CIDR? = nil, ipProtocol: UInt8? = nil, port: UInt16? = nil, limit: Int = 1000) {
        self.guest = guest
        self.network = network
        self.ipProtocol = ipProtocol
        self.port = port
        self.limit = limit
    }

    /// Parses query parameters; unknown parameters and bad values are errors naming them.
    public static func parse(_ query: [(String, String)]) -> Result<FlowFilter, ParseProblem> {
        var filter = FlowFilter()
        for (name, value) in query {
            switch name {
            case "guest":
                filter.guest = value
            case "network":
                switch CIDR.parse(value) {
                case .success(let prefix): filter.network = prefix
                case .failure(let problem): return .failure(ParseProblem("query parameter 'network': \(problem)"))
                }
            case "protocol":
                guard let number = ProtocolNames.number(of: value) else {
                    return .failure(ParseProblem("query parameter 'protocol' must be tcp, udp, icmp, icmp6, sctp or 0–255, got '\(value)'"))
                }
                filter.ipProtocol = number
            case "port":
                guard let port = UInt16(value), port > 0 else {
                    return .failure(ParseProblem("query parameter 'port' must be between 1 and 65535, got '\(value)'"))
                }
                filter.port = port
            case "limit":
                guard let limit = Int(value), (1...100_000).contains(limit) else {
                    return .failure(ParseProblem("query parameter 'limit' must be between 1 and 100000, got '\(value)'"))
                }
                filter.limit = limit
            default:
                return .failure(ParseProblem("unknown query parameter '\(name)'; use guest, network, protocol, port, limit"))
            }
        }
        return .success(filter)
    }

    public func matches(_ flow: FlowSnapshot) -> Bool {
        if let guest, flow.guest != guest { return false }
        if let network, !network.contains(flow.initiator.address) && !network.contains(flow.responder.address) { return false }
        if let ipProtocol, flow.key.ipProtocol != ipProtocol { return false }
        if let port, flow.initiator.port != port && flow.responder.port != port { return false }
        return true
    }
}
