import SidetapCore
import SidetapLabels

/// Something an appliance may ask the control API to do.
public enum AccessAction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Cut a flow with TCP resets (`CutMethod.reset`).
    case cut
    /// Block a flow or network in the firewall (`CutMethod.block`).
    case block
    /// List and look up flows.
    case readFlows = "read_flows"
    /// Read statistics.
    case readStats = "read_stats"
    /// Reload the configuration.
    case reload

    /// The actions a cut with `method` needs: `both` needs `cut` and `block`.
    public static func required(for method: CutMethod) -> Set<AccessAction> {
        switch method {
        case .reset: return [.cut]
        case .block: return [.block]
        case .both: return [.cut, .block]
        }
    }

    public var description: String { rawValue }
}

/// Whether an appliance's cut orders are carried out.
public enum ApplianceMode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Orders are checked and audited but not carried out (a dry run while tuning).
    case learning
    /// Orders are carried out.
    case enforcing

    public var description: String { rawValue }
}

/// A request rate: a steady rate and how many requests may come at once.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Requests per second refilled (> 0).
    public var requestsPerSecond: Double
    /// The most requests allowed back to back (≥ 1).
    public var burst: Int

    /// Fails when the rate is not positive and finite or the burst is below 1.
    public init(requestsPerSecond: Double, burst: Int) throws(AccessConfigurationError) {
        guard requestsPerSecond.isFinite, requestsPerSecond > 0 else {
            throw .invalidRateLimit("requests per second must be positive, got \(requestsPerSecond)")
        }
        guard burst >= 1 else { throw .invalidRateLimit("burst must be at least 1, got \(burst)") }
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }

    /// 10 requests per second, bursts of 20.
    public static let standard = try! RateLimit(requestsPerSecond: 10, burst: 20)

    public var description: String { "\(requestsPerSecond)/s burst \(burst)" }

    /// A full request bucket for this limit: the engine's `TokenBucket`, one token a request.
    public func makeBucket(nowNanos: Int64) -> TokenBucket {
        TokenBucket(packetsPerSecond: requestsPerSecond, bitsPerSecond: nil, burstPackets: burst, nowNanos: nowNanos)
    }
}

extension TokenBucket {
    /// Takes one request's token: nil when the request may proceed, or the whole seconds
    /// (≥ 1) until a token will be available (for Retry-After).
    public mutating func takeRequest(nowNanos: Int64) -> Int? {
        if admit(wireBytes: 0, nowNanos: nowNanos) { return nil }
        let wait = nanosUntilAdmissible(wireBytes: 0, nowNanos: nowNanos)
        guard wait != .max else { return Int.max }
        return max(1, Int((Double(wait) / 1e9).rounded(.up)))
    }
}

/// Which flows an appliance may act on: guests by name and networks. A flow is in scope when
/// its guest is listed, or when at least one of its endpoint addresses lies in a listed
/// network (an appliance guarding a network may cut that network's connections to anywhere).
/// An empty scope covers nothing.
public struct AccessScope: Sendable, Hashable {
    /// Guest (VM) names.
    public var guests: Set<String>
    /// Networks.
    public var networks: [CIDR]

    public init(guests: Set<String> = [], networks: [CIDR] = []) {
        self.guests = guests
        self.networks = networks
    }

    /// True when a flow of `guest` between `addresses` is in scope.
    public func covers(guest: String?, addresses: [IPAddress]) -> Bool {
        if let guest, guests.contains(guest) { return true }
        return addresses.contains { address in networks.contains { $0.contains(address) } }
    }

    /// True when the facts are in scope: a network must lie entirely inside a listed network;
    /// a flow needs its guest listed or an endpoint in a listed network.
    public func covers(_ facts: ScopeFacts) -> Bool {
        if let network = facts.network {
            return networks.contains { $0.prefixLength <= network.prefixLength && $0.contains(network.address) }
        }
        return covers(guest: facts.guest, addresses: facts.addresses)
    }

    /// True when nothing is in scope.
    public var isEmpty: Bool { guests.isEmpty && networks.isEmpty }
}

/// One appliance (a SIEM, an IDS, an operator's script) allowed to use the control API.
public struct ApplianceAccess: Sendable, Hashable {
    /// A unique name, used in the audit log.
    public var name: String
    /// The stored form of its bearer token.
    public var tokenDigest: TokenDigest
    /// When set, requests must also present a client certificate whose DER encoding has this
    /// SHA-256 (lowercase hex).
    public var certificateSHA256: String?
    /// What it may do.
    public var actions: Set<AccessAction>
    /// Which flows it may act on.
    public var scope: AccessScope
    /// Its mode at start; `AccessPolicy.setMode` changes it at run time.
    public var mode: ApplianceMode
    /// Its request rate limit.
    public var rateLimit: RateLimit
    /// Its clearance when labels are in use: it may act only on flows whose label this
    /// dominates. Nil is the lowest label of the encodings (fail safe).
    public var clearance: Label?

    public init(
        name: String, tokenDigest: TokenDigest, certificateSHA256: String? = nil,
        actions: Set<AccessAction>, scope: AccessScope, mode: ApplianceMode = .learning,
        rateLimit: RateLimit = .standard, clearance: Label? = nil
    ) {
        self.clearance = clearance
        self.name = name
        self.tokenDigest = tokenDigest
        self.certificateSHA256 = certificateSHA256?.lowercased()
        self.actions = actions
        self.scope = scope
        self.mode = mode
        self.rateLimit = rateLimit
    }
}

/// A configuration of appliances that cannot be used.
public enum AccessConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidRateLimit(String)
    case duplicateName(String)
    case emptyName
    case badCertificateFingerprint(name: String)

    public var description: String {
        switch self {
        case .invalidRateLimit(let reason): return "invalid rate limit: \(reason)"
        case .duplicateName(let name): return "appliance \"\(name)\" is configured twice"
        case .emptyName: return "an appliance has an empty name"
        case .badCertificateFingerprint(let name):
            return "appliance \"\(name)\": the certificate fingerprint must be 64 hex digits (SHA-256 of the DER certificate)"
        }
    }
}
