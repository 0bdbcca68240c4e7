import Foundation

/// One audit record: a control request (accepted or refused) or a cut's life event
/// (executed, escalated, expired, cancelled, failed). Written as one JSON line of the
/// hash-chained audit log.
public struct AuditEntry: Sendable, Hashable, Encodable {
    /// "request" or "cut".
    public var kind: String
    public var time: Date
    /// "unix" (local administration) or "tls" (appliances).
    public var channel: String?
    /// The appliance that asked ("admin" on the local socket; "-" when unauthenticated).
    public var appliance: String?
    /// The peer address (TLS channel).
    public var remote: String?
    /// HTTP method and path of a request.
    public var method: String?
    public var path: String?
    /// HTTP status answered.
    public var status: Int?
    /// "allowed", "denied", "invalid", "limited", "failed", or for cuts the new state.
    public var outcome: String
    /// Why (the error message for refusals, the cut's detail for cut events).
    public var reason: String?
    /// The cut concerned, its target and method, and the mode it ran in.
    public var cut: String?
    public var target: String?
    public var cutMethod: String?
    public var mode: String?

    public init(kind: String, time: Date = Date(), channel: String? = nil, appliance: String? = nil, remote: String? = nil,
                method: String? = nil, path: String? = nil, status: Int? = nil, outcome: String, reason: String? = nil,
                cut: String? = nil, target: String? = nil, cutMethod: String? = nil, mode: String? = nil) {
        self.kind = kind
        self.time = time
        self.channel = channel
        self.appliance = appliance
        self.remote = remote
        self.method = method
        self.path = path
        self.status = status
        self.outcome = outcome
        self.reason = reason
        self.cut = cut
        self.target = target
        self.cutMethod = cutMethod
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey {
        case kind, time, channel, appliance, remote, method, path, status, outcome, reason, cut, target, mode
        case cutMethod = "cut_method"
    }

    /// The time is written as ISO 8601 UTC with milliseconds, whatever encoder is used.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(time.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)), forKey: .time)
        try c.encodeIfPresent(channel, forKey: .channel)
        try c.encodeIfPresent(appliance, forKey: .appliance)
        try c.encodeIfPresent(remote, forKey: .remote)
        try c.encodeIfPresent(method, forKey: .method)
        try c.encodeIfPresent(path, forKey: .path)
        try c.encodeIfPresent(status, forKey: .status)
        try c.encode(outcome, forKey: .outcome)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(cut, forKey: .cut)
        try c.encodeIfPresent(target, forKey: .target)
        try c.encodeIfPresent(cutMethod, forKey: .cutMethod)
        try c.encodeIfPresent(mode, forKey: .mode)
    }
}

/// Where audit entries go. Appending must be durable before the action it records is taken:
/// when it throws, the control channel refuses the request (503) rather than act unrecorded.
public protocol AuditSink: Sendable {
    func append(_ entry: AuditEntry) throws
}
