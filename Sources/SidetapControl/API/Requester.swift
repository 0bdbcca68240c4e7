import SidetapCore

/// What a request asks to do, for authorization.
public enum ControlAction: String, Sendable, Hashable, CaseIterable, Codable {
    /// A cut with method reset (and the reset half of `both`).
    case cut
    /// A cut with method block (and the block half of `both`), and cancelling a cut.
    case block
    case readFlows = "read_flows"
    case readStats = "read_stats"
    case reload
}

/// Who is asking: an authenticated appliance on the TLS channel, or the local administrator
/// on the Unix socket (whoever can open the socket).
public struct Requester: Sendable, Hashable {
    public var name: String
    public var administrator: Bool

    public init(name: String, administrator: Bool) {
        self.name = name
        self.administrator = administrator
    }

    public static let administrator = Requester(name: "admin", administrator: true)
}

/// A refusal, answered with its status and audited.
public struct Denial: Error, Sendable, Hashable, CustomStringConvertible {
    /// 401, 403 or 429.
    public var status: Int
    public var message: String
    /// For 429: seconds until a request would be admitted.
    public var retryAfterSeconds: Int?

    public init(status: Int, message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status) \(message)" }
}

/// The facts an authorization scope is checked against: the flow's guest and addresses.
public struct ScopeFacts: Sendable, Hashable {
    public var guest: String?
    public var addresses: [IPAddress]

    public init(guest: String?, addresses: [IPAddress]) {
        self.guest = guest
        self.addresses = addresses
    }
}

/// Authentication, authorization, rate limits and modes of the appliances: what the API
/// asks before doing anything for an appliance. The administrator on the local socket is
/// never asked about.
public protocol ControlGate: Sendable {
    /// The appliance a bearer token (the full `Authorization` header value) and, on a TLS
    /// connection with a client certificate, that certificate's SHA-256 fingerprint belong to.
    func authenticate(authorization: String?, certificateFingerprint: String?) -> Result<Requester, Denial>
    /// Admits one more request from the appliance, or says when to come back (429).
    func admit(_ requester: Requester) -> Denial?
    /// Whether the appliance may do `action` on something with these facts (403 if not).
    func authorize(_ requester: Requester, _ action: ControlAction, scope: ScopeFacts?) -> Denial?
    /// True when the appliance's requests are only recorded, not executed.
    func isLearning(_ requester: Requester) -> Bool
    /// Switches an appliance between learning and enforcing; false for an unknown name.
    func setLearning(_ name: String, _ learning: Bool) -> Bool
    /// Every appliance with its mode, for the administrator.
    func appliances() -> [ApplianceView]
}

/// An appliance as the administrator sees it (never its token).
public struct ApplianceView: Sendable, Hashable, Codable {
    public var name: String
    public var mode: String
    public var actions: [String]
    public var guests: [String]
    public var networks: [String]
    public var certificate: Bool

    public init(name: String, mode: String, actions: [String], guests: [String], networks: [String], certificate: Bool) {
        self.name = name
        self.mode = mode
        self.actions = actions
        self.guests = guests
        self.networks = networks
        self.certificate = certificate
    }
}
