/// How a connection is cut.
public enum CutMethod: String, Sendable, Hashable, CaseIterable {
    /// TCP RSTs toward both endpoints with the sequence numbers each expects.
    case reset
    /// A firewall rule that drops the flow (or host, or CIDR) for a time.
    case block
    /// Both of the above.
    case both
}

/// A request to cut one flow, as the control channel hands it to an executor.
public struct CutOrder: Sendable, Hashable {
    public var flow: FlowKey
    public var method: CutMethod
    /// For `block`: seconds until the kernel drops the rule.
    public var ttlSeconds: Int
    public var reason: String

    public init(flow: FlowKey, method: CutMethod, ttlSeconds: Int, reason: String) {
        self.flow = flow
        self.method = method
        self.ttlSeconds = ttlSeconds
        self.reason = reason
    }
}

/// What an executor did with a cut order.
public struct CutOutcome: Sendable, Hashable {
    public var executed: Bool
    public var detail: String
    public init(executed: Bool, detail: String) {
        self.executed = executed
        self.detail = detail
    }
}

/// Something that can cut connections: RST injection, an nftables block, or a recorder in tests.
public protocol CutExecutor: AnyObject, Sendable {
    func execute(_ order: CutOrder) async throws -> CutOutcome
}
