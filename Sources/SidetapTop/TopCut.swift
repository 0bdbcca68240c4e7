import Foundation

/// One cut as `sidetap top` shows it, decoded from a record of `GET /v1/cuts`.
public struct TopCut: Sendable, Equatable, Decodable {
    public var id: String
    /// reset, block or both.
    public var method: String
    /// The connection or network, in words ("tcp 10.0.0.1:4000 -> 10.0.0.2:80", "network 10.0.0.0/24").
    public var target: String
    /// The appliance that asked ("admin" for the local socket).
    public var requestedBy: String
    /// learned, active, done, escalated, expired, cancelled or failed.
    public var state: String
    public var createdAt: Date

    public init(id: String, method: String, target: String, requestedBy: String, state: String, createdAt: Date) {
        self.id = id
        self.method = method
        self.target = target
        self.requestedBy = requestedBy
        self.state = state
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, method, target, state
        case requestedBy = "requested_by", createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        method = try c.decode(String.self, forKey: .method)
        state = try c.decode(String.self, forKey: .state)
        requestedBy = try c.decode(String.self, forKey: .requestedBy)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        target = try c.decode(Target.self, forKey: .target).text
    }

    /// The cut target's JSON: `{"flow": {...}}` or `{"network": "..."}`.
    struct Target: Decodable {
        struct Flow: Decodable {
            var ipProtocol: String
            var source: String
            var sourcePort: Int?
            var destination: String
            var destinationPort: Int?

            enum CodingKeys: String, CodingKey {
                case ipProtocol = "protocol", source, destination
                case sourcePort = "source_port", destinationPort = "destination_port"
            }
        }

        var flow: Flow?
        var network: String?

        var text: String {
            if let network { return "network \(network)" }
            guard let flow else { return "?" }
            func side(_ address: String, _ port: Int?) -> String {
                guard let port else { return address }
                return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
            }
            return "\(flow.ipProtocol) \(side(flow.source, flow.sourcePort)) -> \(side(flow.destination, flow.destinationPort))"
        }
    }

    /// Decodes the body of `GET /v1/cuts` (ISO 8601 dates, as the control API writes them).
    public static func decodeList(_ body: Data) throws -> [TopCut] {
        struct List: Decodable { var cuts: [TopCut] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(List.self, from: body).cuts
    }
}
