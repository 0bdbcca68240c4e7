/// Which Linux capabilities Sidetap still needs once everything is open, derived from the
/// config, each with the reason it is kept.
///
/// - CAP_NET_RAW when a live source is configured: a source whose interface goes away and
///   comes back (a guest restarted, its vnet device recreated) re-opens its capture, and a
///   new packet socket needs CAP_NET_RAW. Also when `reset` cuts are on with live sources: each
///   reset opens a packet socket on the interface the flow was seen on.
/// - CAP_NET_ADMIN when `block` cuts are on: each block changes Sidetap's nftables tables.
/// - Nothing else. Interface ports, TAP devices, tunnel sockets, capture files and the control
///   listeners are opened before the drop and keep working without a capability (an interface
///   port rebinds its open socket to a returning interface, which needs none).
public struct PrivilegePlan: Sendable, Equatable {
    /// One kept capability and why.
    public struct Grant: Sendable, Equatable {
        public var capability: Capability
        public var reason: String
    }

    /// The kept capabilities in capability order, one grant each.
    public var grants: [Grant]

    /// The set to keep.
    public var kept: CapabilitySet { CapabilitySet(grants.map(\.capability)) }

    public init(grants: [Grant]) {
        self.grants = grants.sorted { $0.capability < $1.capability }
    }

    /// The plan for `config`; `controlPlane` tells whether the control channel runs (cuts are
    /// only possible through it).
    public init(config: SidetapConfig, controlPlane: Bool) {
        var grants: [Grant] = []
        let live = config.sources.filter(\.isLive).map(\.name)
        var rawReasons: [String] = []
        if !live.isEmpty {
            rawReasons.append("live source(s) \(live.joined(separator: ", ")) re-open their capture when an interface returns")
        }
        if controlPlane && config.control.resetEnabled && !live.isEmpty {
            rawReasons.append("reset cuts open a packet socket per reset")
        }
        if !rawReasons.isEmpty {
            grants.append(Grant(capability: .netRaw, reason: rawReasons.joined(separator: "; ")))
        }
        if controlPlane && config.control.blockEnabled {
            grants.append(Grant(capability: .netAdmin,
                                reason: "block cuts change the nftables tables \(config.control.nftablesTable) (control.cuts.block: on)"))
        }
        self.init(grants: grants)
    }
}
