import Foundation
import SidetapCore

/// A validated `POST /v1/cuts` body.
///
/// ```json
/// {"protocol": "tcp", "source": "10.0.0.5", "source_port": 43512,
///  "destination": "10.0.1.9", "destination_port": 443,
///  "method": "reset", "ttl": 300, "reason": "C2 beacon"}
/// {"network": "203.0.113.0/24", "method": "block", "ttl": 600, "reason": "scanner"}
/// ```
public struct CutRequest: Sendable, Hashable {
    public var target: CutTarget
    public var method: CutMethod
    /// Seconds a block lasts (and how long a reset's escalation block would last).
    public var ttlSeconds: Int
    public var reason: String

    public init(target: CutTarget, method: CutMethod, ttlSeconds: Int, reason: String) {
        self.target = target
        self.method = method
        self.ttlSeconds = ttlSeconds
        self.reason = reason
    }

    static let fields = ["protocol", "source", "source_port", "destination", "destination_port", "network", "method", "ttl", "reason"]

    /// Parses and checks a JSON body; every problem names the field and what is wrong.
    public static func parse(_ body: Data, defaultTTL: Int, maximumTTL: Int) -> Result<CutRequest, ParseProblem> {
        guard let object = try? JSONSerialization.jsonObject(with: body), let fields = object as? [String: Any] else {
            return .failure(ParseProblem("the body must be a JSON object"))
        }
        do {
            return .success(try parse(fields, defaultTTL: defaultTTL, maximumTTL: maximumTTL))
        } catch let problem as ParseProblem {
            return .failure(problem)
        } catch {
            return .failure(ParseProblem("\(error)"))
        }
    }

    static func parse(_ fields: [String: Any], defaultTTL: Int, maximumTTL: Int) throws -> CutRequest {
        if let unknown = fields.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw ParseProblem("unknown field '\(unknown)'; fields: \(Self.fields.joined(separator: ", "))")
        }
        let reader = FieldReader(fields: fields)
        let methodName = try reader.string("method") ?? ""
        guard let method = CutMethod(rawValue: methodName) else {
            throw ParseProblem(methodName.isEmpty ? "'method' is required: reset, block or both" : "'method' must be reset, block or both, got '\(methodName)'")
        }
        let ttl = try reader.integer("ttl") ?? defaultTTL
        guard (1...maximumTTL).contains(ttl) else { throw ParseProblem("'ttl' must be between 1 and \(maximumTTL) seconds, got \(ttl)") }
        let reason = try reader.string("reason") ?? ""
        guard reason.utf8.count <= 512 else { throw ParseProblem("'reason' must be at most 512 bytes") }

        let target: CutTarget
        if let networkText = try reader.string("network") {
            if let other = ["protocol", "source", "source_port", "destination", "destination_port"].first(where: { fields[$0] != nil }) {
                throw ParseProblem("give either 'network' or a connection (protocol, source, destination, ports), not both ('\(other)' with 'network')")
            }
            switch CIDR.parse(networkText) {
            case .success(let prefix): target = .network(prefix)
            case .failure(let problem): throw ParseProblem("'network': \(problem)")
            }
            guard method == .block else { throw ParseProblem("a network can only be blocked; 'method' must be block for 'network'") }
        } else {
            guard let protocolName = try reader.string("protocol") else {
                throw ParseProblem("give 'protocol', 'source' and 'destination' (and ports for tcp/udp), or 'network'")
            }
            guard let number = ProtocolNames.number(of: protocolName) else {
                throw ParseProblem("'protocol' must be tcp, udp, icmp, icmp6, sctp or a number 0–255, got '\(protocolName)'")
            }
            let source = try reader.address("source")
            let destination = try reader.address("destination")
            guard source.isIPv4 == destination.isIPv4 else { throw ParseProblem("'source' and 'destination' must both be IPv4 or both IPv6") }
            var tuple = FlowTuple(ipProtocol: number, source: source, sourcePort: 0, destination: destination, destinationPort: 0)
            if tuple.hasPorts {
                tuple.sourcePort = try reader.port("source_port")
                tuple.destinationPort = try reader.port("destination_port")
            } else if let extra = ["source_port", "destination_port"].first(where: { fields[$0] != nil }) {
                throw ParseProblem("'\(extra)' does not apply to protocol \(tuple.protocolName)")
            }
            if method != .block && number != 6 {
                throw ParseProblem("a \(tuple.protocolName) flow cannot be reset (only TCP can); use method block")
            }
            target = .flow(tuple)
        }
        return CutRequest(target: target, method: method, ttlSeconds: ttl, reason: reason)
    }
}

/// Typed reads of JSON fields with precise messages.
struct FieldReader {
    let fields: [String: Any]

    func string(_ name: String) throws -> String? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw ParseProblem("'\(name)' must be a string") }
        return text
    }

    func integer(_ name: String) throws -> Int? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        // JSON true/false arrive as a boolean NSNumber (objCType "c"); they are not numbers here.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
              let exact = Int(exactly: number.doubleValue) else {
            throw ParseProblem("'\(name)' must be a whole number")
        }
        return exact
    }

    func address(_ name: String) throws -> IPAddress {
        guard let text = try string(name) else { throw ParseProblem("'\(name)' is required") }
        guard let address = IPAddress(text) else { throw ParseProblem("'\(name)' must be an IPv4 or IPv6 address, got '\(text)'") }
        return address
    }

    func port(_ name: String) throws -> UInt16 {
        guard let value = try integer(name) else { throw ParseProblem("'\(name)' is required for tcp, udp and sctp") }
        guard (1...65535).contains(value) else { throw ParseProblem("'\(name)' must be between 1 and 65535, got \(value)") }
        return UInt16(value)
    }
}
