import Foundation
import SidetapControl

/// `POST /v1/reload`: re-reads the config file and its rules files. An invalid config is
/// refused with every error and the running one stays. A valid one replaces the appliances
/// (tokens, certificates, actions, scopes, modes, rate limits) at once; the capture pipeline
/// (sources, ports, rules) keeps running unchanged, and the answer says whether the file's
/// pipeline differs from the running one (then a restart applies it).
struct ControlReload: Sendable {
    let path: String
    let running: PipelineSignature
    let access: AccessHolder

    func callAsFunction() async -> ReloadOutcome {
        let config: SidetapConfig
        do {
            config = try SidetapConfig.load(path: path)
        } catch {
            return ReloadOutcome(applied: false, message: "\(path) is invalid; the running configuration stays",
                                 errors: error.errors.map(\.description))
        }
        let policy: AccessPolicy
        do {
            policy = try AccessPolicy(appliances: config.control.appliances)
        } catch {
            return ReloadOutcome(applied: false, message: "\(path): control.appliances is invalid; the running configuration stays",
                                 errors: ["\(error)"])
        }
        access.replace(with: policy)
        var message = "appliances reloaded from \(path) (\(config.control.appliances.count))"
        if PipelineSignature(config) != running {
            message += "; the file's sources, ports or rules differ from the running ones and take effect at the next start"
        }
        return ReloadOutcome(applied: true, message: message)
    }
}

/// What identifies the running pipeline: sources, ports and the text of their rules files.
struct PipelineSignature: Sendable, Equatable {
    let parts: [String]

    init(_ config: SidetapConfig) {
        var parts: [String] = []
        for source in config.sources {
            parts.append("source \(source.name) \(source.file) \(source.interface.map { "\($0)" } ?? "") \(source.guest ?? "")")
        }
        for port in config.ports {
            let rules = (try? String(contentsOfFile: port.rules, encoding: .utf8)) ?? "<unreadable>"
            parts.append("port \(port.name) \(port.kind.rawValue) \(port.path ?? "") \(port.rate.map { "\($0)" } ?? "") \(port.network.map { "\($0)" } ?? "") \(rules)")
        }
        self.parts = parts
    }
}
