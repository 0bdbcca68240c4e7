import SidetapCore

/// Who is asking: an authenticated appliance on the TLS channel, or the local administrator
/// on the Unix socket (whoever can open the socket).
public struct Requester: Sendable, Hashable {
    public var name: String
    /// The authenticated appliance; nil for the administrator and for nobody.
    public var appliance: ApplianceAccess?
    /// True only for whoever opened the local socket.
    public let administrator: Bool

    public init(appliance: ApplianceAccess) {
        self.name = appliance.name
        self.appliance = appliance
        self.administrator = false
    }

    private init(name: String, administrator: Bool) {
        self.name = name
        self.appliance = nil
        self.administrator = administrator
    }

    /// Whoever opened the local socket.
    public static let administrator = Requester(name: "admin", administrator: true)
    /// Not authenticated: may do nothing (routes never run for it; this is the fail-safe value).
    public static let nobody = Requester(name: "-", administrator: false)
}

/// An appliance as the administrator sees it (never its token).
public struct ApplianceView: Sendable, Hashable, Codable {
    public var name: String
    public var mode: String
    public var actions: [String]
    public var guests: [String]
    public var networks: [String]
    public var certificate: Bool

    public init(_ appliance: ApplianceAccess, mode: ApplianceMode) {
        name = appliance.name
        self.mode = mode.rawValue
        actions = AccessAction.allCases.filter { appliance.actions.contains($0) }.map(\.rawValue)
        guests = appliance.scope.guests.sorted()
        networks = appliance.scope.networks.map(\.description)
        certificate = appliance.certificateSHA256 != nil
    }
}

extension AccessPolicy {
    /// Every appliance with its current mode.
    public func views() -> [ApplianceView] {
        appliances.map { ApplianceView($0, mode: mode(of: $0.name) ?? $0.mode) }
    }
}
