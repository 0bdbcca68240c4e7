import SidetapCore
import SidetapLabels
import Synchronization

/// All appliances and the decisions about them: who a request comes from (`authenticate`),
/// whether it may go ahead now (`admit`, the per-appliance rate limit), and whether it may do
/// what it asks (`authorize`). Modes can be switched at run time. Safe to share between tasks.
///
/// The HTTP layer runs, per request: `authenticate` → `admit` → `authorize` (for actions on
/// flows, with the flow's guest and addresses), turning an `AccessDenial` into its `status`,
/// `headers` and `message`.
public final class AccessPolicy: Sendable {
    private struct Runtime {
        var modes: [String: ApplianceMode]
        var buckets: [String: TokenBucket]
    }

    /// The appliances as configured (modes as at start).
    public let appliances: [ApplianceAccess]
    /// The labels of guests and flows; nil when labels are not in use.
    public let labels: LabelAssignment?
    private let clock: any TimeSource
    private let runtime: Mutex<Runtime>

    /// Checks names (non-empty, unique) and certificate fingerprints (64 hex digits). With
    /// `labels`, an action on a flow also needs the appliance's clearance to dominate the
    /// flow's label.
    public init(appliances: [ApplianceAccess], labels: LabelAssignment? = nil,
                clock: any TimeSource = SystemTimeSource.shared) throws(AccessConfigurationError) {
        self.labels = labels
        var seen: Set<String> = []
        for appliance in appliances {
            guard !appliance.name.isEmpty else { throw .emptyName }
            guard seen.insert(appliance.name).inserted else { throw .duplicateName(appliance.name) }
            if let fingerprint = appliance.certificateSHA256,
               fingerprint.utf8.count != 64 || !fingerprint.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) {
                throw .badCertificateFingerprint(name: appliance.name)
            }
        }
        self.appliances = appliances
        self.clock = clock
        let now = clock.monotonicNanos()
        runtime = Mutex(Runtime(
            modes: Dictionary(uniqueKeysWithValues: appliances.map { ($0.name, $0.mode) }),
            buckets: Dictionary(uniqueKeysWithValues: appliances.map { ($0.name, $0.rateLimit.makeBucket(nowNanos: now)) })
        ))
    }

    /// Finds the appliance whose token is in `authorization` (the `Authorization` header value,
    /// `Bearer <token>`) and, if it is bound to a client certificate, checks
    /// `certificateSHA256` (hex SHA-256 of the peer's DER certificate, nil without one).
    /// Every appliance's digest is checked, so the time taken does not say which matched.
    /// The result carries the appliance's current mode.
    public func authenticate(authorization: String?, certificateSHA256: String? = nil) -> Result<ApplianceAccess, AccessDenial> {
        guard let token = AccessPolicy.bearerToken(authorization) else { return .failure(AccessDenial(.missingToken)) }
        var match: ApplianceAccess?
        for appliance in appliances where appliance.tokenDigest.verify(token) && match == nil {
            match = appliance
        }
        guard var appliance = match else { return .failure(AccessDenial(.unknownToken)) }
        if let required = appliance.certificateSHA256 {
            guard let presented = certificateSHA256?.lowercased(),
                  ConstantTime.equal(Array(presented.utf8), Array(required.utf8)) else {
                return .failure(AccessDenial(.certificateMismatch(appliance: appliance.name)))
            }
        }
        appliance.mode = mode(of: appliance.name) ?? appliance.mode
        return .success(appliance)
    }

    /// Takes one request from the appliance's rate limit: nil when it may go ahead, else a 429.
    public func admit(_ appliance: ApplianceAccess) -> AccessDenial? {
        let now = clock.monotonicNanos()
        let wait = runtime.withLock { runtime -> Int? in
            guard var bucket = runtime.buckets[appliance.name] else { return nil }
            let wait = bucket.takeRequest(nowNanos: now)
            runtime.buckets[appliance.name] = bucket
            return wait
        }
        return wait.map { AccessDenial(.rateLimited(appliance: appliance.name, retryAfterSeconds: $0)) }
    }

    /// Whether the appliance may perform `action`; for actions on a flow pass the flow's
    /// `guest` and endpoint `addresses` as `scope` (nil for actions on no flow: stats, reload).
    public func authorize(_ appliance: ApplianceAccess, action: AccessAction, scope: ScopeFacts? = nil) -> AccessDenial? {
        authorize(appliance, actions: [action], scope: scope)
    }

    /// Whether the appliance may perform every one of `actions` (a `both` cut needs `cut`
    /// and `block`: see `AccessAction.required(for:)`).
    public func authorize(_ appliance: ApplianceAccess, actions: Set<AccessAction>, scope: ScopeFacts? = nil) -> AccessDenial? {
        for action in AccessAction.allCases where actions.contains(action) && !appliance.actions.contains(action) {
            return AccessDenial(.actionNotAllowed(appliance: appliance.name, action: action))
        }
        if let scope, !appliance.scope.covers(scope) {
            return AccessDenial(.outOfScope(appliance: appliance.name))
        }
        if let scope, let labels {
            let label = labels.label(of: scope)
            let clearance = appliance.clearance ?? labels.encodings.lowest
            if !clearance.dominates(label) {
                return AccessDenial(.notCleared(appliance: appliance.name, label: labels.describe(label), clearance: labels.describe(clearance)))
            }
        }
        return nil
    }

    /// The appliance's current mode; nil for an unknown name.
    public func mode(of name: String) -> ApplianceMode? {
        runtime.withLock { $0.modes[name] }
    }

    /// Switches an appliance's mode; returns the previous mode, or nil for an unknown name.
    @discardableResult
    public func setMode(_ name: String, _ mode: ApplianceMode) -> ApplianceMode? {
        runtime.withLock { runtime in
            guard let previous = runtime.modes[name] else { return nil }
            runtime.modes[name] = mode
            return previous
        }
    }

    /// The token in `Bearer <token>` (scheme case-insensitive); nil when absent or malformed.
    public static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = header.trimmingWhitespace()
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = String(trimmed.dropFirst(7)).trimmingWhitespace()
        guard !token.isEmpty, !token.contains(where: { $0 == " " || $0 == "\t" }) else { return nil }
        return token
    }
}

/// The facts about a flow that scope decisions use.
public struct ScopeFacts: Sendable, Hashable {
    /// The guest (VM) the flow was seen on, when known.
    public var guest: String?
    /// The flow's endpoint addresses.
    public var addresses: [IPAddress]
    /// For a block of a whole network: the network, which must lie entirely inside one of the
    /// scope's networks (guests do not cover networks).
    public var network: CIDR?
    /// The source (capture) the flow was seen on, when known; its label is the flow's floor.
    public var source: String?

    public init(guest: String?, addresses: [IPAddress], network: CIDR? = nil, source: String? = nil) {
        self.source = source
        self.guest = guest
        self.addresses = addresses
        self.network = network
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

extension ScopeFacts {
    /// The scope facts of a flow: its guest and both endpoint addresses.
    public init(flow: FlowSnapshot) {
        self.init(guest: flow.guest, addresses: [flow.initiator.address, flow.responder.address], source: flow.source.name)
    }
}
