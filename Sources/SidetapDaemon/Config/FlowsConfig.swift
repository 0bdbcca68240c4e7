import SidetapFlows

/// The `flows:` section: the per-source flow table that cuts and `GET /v1/flows` read.
///
/// ```yaml
/// flows:
///   track: auto        # auto: live sources only; on: every source; off: none
///   capacity: 65536    # flows per source; the least recently seen is evicted beyond it
///   idle_timeout: 5m   # a flow not seen for this long is removed
/// ```
public struct FlowsConfig: Sendable, Equatable {
    /// Which sources keep a flow table.
    public enum Track: String, Sendable {
        case auto, on, off
    }

    public var track: Track = .auto
    public var settings = FlowTableSettings()

    public init() {}

    /// True when a source of this kind keeps a flow table.
    public func tracks(live: Bool) -> Bool {
        switch track {
        case .auto: return live
        case .on: return true
        case .off: return false
        }
    }
}

extension ConfigParser {
    func parseFlows(_ node: ConfigNode) throws(ConfigError) -> FlowsConfig {
        let m = try node.requireMapping("flows", keys: ["track", "capacity", "idle_timeout"])
        var config = FlowsConfig()
        if let n = m["track"] { config.track = try n.requireChoice("track", [("auto", .auto), ("on", .on), ("off", .off)]) }
        if let n = m["capacity"] { config.settings.capacity = try n.requireInt("capacity", range: 16...(1 << 24)) }
        if let n = m["idle_timeout"] {
            guard let value = Quantities.seconds(n.string ?? ""), value >= 1, value <= 86_400 else {
                throw n.error("idle_timeout must be a duration between 1s and 1d, got \(n.describe)")
            }
            config.settings.idleTimeoutNanos = UInt64(value * 1e9)
        }
        return config
    }
}
