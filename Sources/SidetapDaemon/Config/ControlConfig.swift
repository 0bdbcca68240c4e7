import Foundation
import SidetapControl
import SidetapLabels

/// The `control:` section: the appliance channel (HTTPS), the audit log, how cuts behave, and
/// the appliances allowed to ask for them. The local administration socket is
/// `options.control_socket`.
///
/// ```yaml
/// control:
///   listen: 0.0.0.0:8443
///   tls: {certificate: tls/server.pem, key: tls/server.key, client_ca: tls/appliances-ca.pem}
///   audit: /var/lib/sidetap/audit.jsonl
///   cuts: {default_ttl: 5m, max_ttl: 1d, escalation_window: 2s, nftables_table: sidetap}
///   appliances:
///     - name: waf01
///       token: "sha256:…"          # from `sidetap token new waf01`
///       actions: [cut, block, read_flows, read_stats]
///       guests: [web01]
///       networks: [10.0.0.0/16]
///       mode: learning
///       rate: {requests_per_second: 20, burst: 40}
/// ```
public struct ControlConfig: Sendable {
    /// The HTTPS listener for appliances; nil when only the local socket is used.
    public var tls: TLSListenerSettings?
    /// The hash-chained audit log; nil means the default (`ControlConfig.defaultAuditPath`).
    public var auditPath: String?
    public var cuts: CutService.Settings
    /// Whether resets may be injected and blocks installed (both on by default).
    public var resetEnabled: Bool
    public var blockEnabled: Bool
    /// The nftables table name Sidetap owns (in the inet and bridge families).
    public var nftablesTable: String
    public var appliances: [ApplianceAccess]

    public init(tls: TLSListenerSettings? = nil, auditPath: String? = nil, cuts: CutService.Settings = .init(), resetEnabled: Bool = true,
                blockEnabled: Bool = true, nftablesTable: String = "sidetap", appliances: [ApplianceAccess] = []) {
        self.tls = tls
        self.auditPath = auditPath
        self.cuts = cuts
        self.resetEnabled = resetEnabled
        self.blockEnabled = blockEnabled
        self.nftablesTable = nftablesTable
        self.appliances = appliances
    }

    /// `/var/lib/sidetap/audit.jsonl` for root; `$XDG_STATE_HOME/sidetap/audit.jsonl` or
    /// `~/.local/state/sidetap/audit.jsonl` for other users.
    public static var defaultAuditPath: String {
        if getuid() == 0 { return "/var/lib/sidetap/audit.jsonl" }
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/sidetap/audit.jsonl" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/sidetap/audit.jsonl"
    }

    public var resolvedAuditPath: String { auditPath ?? Self.defaultAuditPath }
}

extension ConfigParser {
    func parseControl(_ node: ConfigNode) throws(ConfigError) -> ControlConfig {
        let m = try node.requireMapping("control", keys: ["listen", "tls", "audit", "cuts", "appliances"])
        var config = ControlConfig()
        if let auditNode = m["audit"] { config.auditPath = resolve(try auditNode.requireString("audit"), against: base) }
        if let listenNode = m["listen"] {
            let (host, port) = try parseHostPort(listenNode)
            guard let tlsNode = m["tls"] else {
                throw listenNode.error("the appliance channel is HTTPS only: 'listen' needs 'tls' with 'certificate' and 'key'")
            }
            let t = try tlsNode.requireMapping("tls", keys: ["certificate", "key", "client_ca"])
            let certificate = resolve(try t.require("certificate").requireString("certificate"), against: base)
            let key = resolve(try t.require("key").requireString("key"), against: base)
            let clientCA = try t["client_ca"].map { n throws(ConfigError) in resolve(try n.requireString("client_ca"), against: base) }
            let settings = TLSListenerSettings(host: host, port: port, certificatePath: certificate, keyPath: key, clientCAPath: clientCA)
            do {
                _ = try settings.makeConfiguration()
            } catch {
                throw tlsNode.error("tls: \(error)")
            }
            config.tls = settings
        } else if let tlsNode = m["tls"] {
            throw tlsNode.error("'tls' is set but 'listen' is not: give listen: HOST:PORT for the appliance channel")
        }
        if let cutsNode = m["cuts"] {
            let c = try cutsNode.requireMapping("cuts", keys: ["default_ttl", "max_ttl", "escalation_window", "reset", "block", "nftables_table"])
            if let n = c["max_ttl"] { config.cuts.maximumTTL = try seconds(n, "max_ttl", range: 1...(365 * 86_400)) }
            if let n = c["default_ttl"] { config.cuts.defaultTTL = try seconds(n, "default_ttl", range: 1...config.cuts.maximumTTL) }
            if config.cuts.defaultTTL > config.cuts.maximumTTL { config.cuts.defaultTTL = config.cuts.maximumTTL }
            if let n = c["escalation_window"] {
                guard let value = Quantities.seconds(n.string ?? ""), value >= 0.1, value <= 60 else {
                    throw n.error("escalation_window must be a duration between 100ms and 60s, got \(n.describe)")
                }
                config.cuts.escalationWindow = .milliseconds(Int(value * 1000))
            }
            if let n = c["reset"] { config.resetEnabled = try n.requireChoice("reset", [("on", true), ("off", false), ("true", true), ("false", false)]) }
            if let n = c["block"] { config.blockEnabled = try n.requireChoice("block", [("on", true), ("off", false), ("true", true), ("false", false)]) }
            if let n = c["nftables_table"] {
                let name = try n.requireString("nftables_table")
                guard name.utf8.count <= 32, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                      name.first?.isLetter == true else {
                    throw n.error("nftables_table must be 1–32 letters, digits or '_', starting with a letter, got '\(name)'")
                }
                config.nftablesTable = name
            }
        }
        if let list = m["appliances"] {
            var seen: [String: ConfigLocation] = [:]
            for item in try list.requireSequence("appliances") {
                let appliance = try parseAppliance(item)
                if let first = seen[appliance.name] {
                    throw item.error("appliance '\(appliance.name)' is defined twice (first at \(first))")
                }
                seen[appliance.name] = location(item)
                config.appliances.append(appliance)
            }
            if config.tls == nil, !config.appliances.isEmpty {
                throw list.error("appliances connect over HTTPS: set control.listen and control.tls")
            }
        }
        return config
    }

    func parseAppliance(_ node: ConfigNode) throws(ConfigError) -> ApplianceAccess {
        let m = try node.requireMapping("an appliance", keys: ["name", "token", "certificate_sha256", "actions", "guests", "networks", "mode", "rate", "clearance"])
        let name = try self.name(m.require("name"), "appliance name")
        let tokenNode = try m.require("token")
        let digest: TokenDigest
        do {
            digest = try TokenDigest(parsing: try tokenNode.requireString("token"))
        } catch let error as ConfigError {
            throw error
        } catch {
            throw tokenNode.error("token: \(error) (create one with `sidetap token new \(name)`)")
        }
        var certificate: String?
        if let n = m["certificate_sha256"] {
            let text = try n.requireString("certificate_sha256").lowercased().replacingOccurrences(of: ":", with: "")
            guard text.count == 64, text.allSatisfy(\.isHexDigit) else {
                throw n.error("certificate_sha256 must be the 64 hex digits of the certificate's SHA-256 (openssl x509 -noout -fingerprint -sha256)")
            }
            certificate = text
        }
        var actions: Set<AccessAction> = []
        let choices = AccessAction.allCases.map { ($0.rawValue, $0) }
        for item in try m.require("actions").requireSequence("actions") {
            actions.insert(try item.requireChoice("an action", choices))
        }
        var guests: Set<String> = []
        if let n = m["guests"] { for item in try n.requireSequence("guests") { guests.insert(try item.requireString("a guest name")) } }
        var networks: [CIDR] = []
        if let n = m["networks"] {
            for item in try n.requireSequence("networks") {
                switch CIDR.parse(try item.requireString("a network")) {
                case .success(let prefix): networks.append(prefix)
                case .failure(let problem): throw item.error("networks: \(problem)")
                }
            }
        }
        let scoped = actions.contains(.cut) || actions.contains(.block) || actions.contains(.readFlows)
        if scoped && guests.isEmpty && networks.isEmpty {
            let list = AccessAction.allCases.filter { actions.contains($0) }.map(\.rawValue).joined(separator: ", ")
            throw node.error("appliance '\(name)' may \(list) but has no scope: list the 'guests' and/or 'networks' it may act on")
        }
        let mode = try m["mode"].map { n throws(ConfigError) in try n.requireChoice("mode", [("learning", ApplianceMode.learning), ("enforcing", .enforcing)]) } ?? .learning
        var rate = RateLimit.standard
        if let n = m["rate"] {
            let r = try n.requireMapping("rate", keys: ["requests_per_second", "burst"])
            var perSecond = rate.requestsPerSecond
            var burst = rate.burst
            if let v = r["requests_per_second"] {
                guard let value = Double(v.string ?? ""), value > 0, value <= 100_000 else {
                    throw v.error("requests_per_second must be a number between 0 and 100000, got \(v.describe)")
                }
                perSecond = value
            }
            if let v = r["burst"] { burst = try v.requireInt("burst", range: 1...1_000_000) }
            do {
                rate = try RateLimit(requestsPerSecond: perSecond, burst: burst)
            } catch {
                throw n.error("rate: \(error)")
            }
        }
        let clearance = try m["clearance"].map { n throws(ConfigError) in try parseLabel(n, "clearance") }
        return ApplianceAccess(name: name, tokenDigest: digest, certificateSHA256: certificate, actions: actions,
                               scope: AccessScope(guests: guests, networks: networks), mode: mode, rateLimit: rate, clearance: clearance)
    }

    func parseHostPort(_ node: ConfigNode) throws(ConfigError) -> (String, Int) {
        let text = try node.requireString("listen")
        var host: Substring
        var portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw node.error("listen must be HOST:PORT or [IPv6]:PORT, got '\(text)'") }
            portText = after.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw node.error("listen must be HOST:PORT or [IPv6]:PORT, got '\(text)'")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw node.error("listen needs a host (0.0.0.0 for every address), got '\(text)'") }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw node.error("the port in listen must be between 1 and 65535, got '\(portText)'")
        }
        return (String(host), port)
    }

    func seconds(_ node: ConfigNode, _ what: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let value = Quantities.seconds(node.string ?? ""), value.rounded() == value, range.contains(Int(value)) else {
            throw node.error("\(what) must be a whole number of seconds (or 5m, 2h, 1d) between \(range.lowerBound) and \(range.upperBound) s, got \(node.describe)")
        }
        return Int(value)
    }
}
