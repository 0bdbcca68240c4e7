import Foundation
import SidetapControl
import SidetapLabels

/// `POST /v1/reload`: re-reads the config file and its rules files. An invalid config or rules
/// file is refused with every error and the running configuration stays. A valid one replaces
/// the appliances (tokens, certificates, actions, scopes, modes, rate limits) and every port's
/// rules at once — sources switch to the new rules between two batches, no packet is lost and
/// no port restarts. Sources and ports themselves (added, removed or with other settings) are
/// not rebuilt by a reload: the answer says so, and a restart applies them.
actor ControlReload {
    let path: String
    private var running: PipelineSignature
    let access: AccessHolder
    let engine: Engine?

    init(path: String, running: PipelineSignature, access: AccessHolder, engine: Engine?) {
        self.path = path
        self.running = running
        self.access = access
        self.engine = engine
    }

    func callAsFunction() -> ReloadOutcome {
        let config: SidetapConfig
        do {
            config = try SidetapConfig.load(path: path)
        } catch {
            return ReloadOutcome(applied: false, message: "\(path) is invalid; the running configuration stays",
                                 errors: error.errors.map(\.description))
        }
        let policy: AccessPolicy
        do {
            policy = try AccessPolicy(appliances: config.control.appliances, labels: config.labelAssignment)
        } catch {
            return ReloadOutcome(applied: false, message: "\(path): control.appliances is invalid; the running configuration stays",
                                 errors: ["\(error)"])
        }
        let next = PipelineSignature(config)
        var message = "appliances reloaded from \(path) (\(config.control.appliances.count))"
        let structureSame = next.structure == running.structure
        if let engine, structureSame, next.rules != running.rules {
            do {
                try engine.reloadRules(config)
            } catch {
                return ReloadOutcome(applied: false, message: "the new rules are invalid; the running configuration stays",
                                     errors: error.message.split(separator: "\n").map(String.init))
            }
            let changed = zip(running.rules, next.rules).enumerated().filter { $0.element.0 != $0.element.1 }.map { config.ports[$0.offset].name }
            message += "; rules reloaded for port(s) \(changed.joined(separator: ", "))"
        }
        access.replace(with: policy)
        if !structureSame {
            message += "; the file's sources or ports differ from the running ones and take effect at the next start"
        } else {
            running = next
        }
        return ReloadOutcome(applied: true, message: message)
    }
}

/// What identifies the running pipeline: its sources and ports (structure) and the text of
/// each port's rules file (rules).
struct PipelineSignature: Sendable, Equatable {
    let structure: [String]
    let rules: [String]

    init(_ config: SidetapConfig) {
        var structure: [String] = []
        for source in config.sources {
            structure.append("source \(source.name) \(source.file) \(source.interface.map { "\($0)" } ?? "") \(source.guest ?? "")")
        }
        for port in config.ports {
            structure.append("port \(port.name) \(port.kind.rawValue) \(port.rules) \(port.path ?? "") \(port.rate.map { "\($0)" } ?? "") "
                             + "\(port.network.map { "\($0)" } ?? "") \(port.slice ?? 0) \(port.sample ?? 0) \(port.group ?? "")")
        }
        // Labels are enforced by the capture threads, built at start: a change takes effect at the next start.
        if let labels = config.labelAssignment {
            structure.append("labels \(labels.encodings) \(labels.sources) \(labels.ports)")
        }
        self.structure = structure
        rules = config.ports.map { (try? String(contentsOfFile: $0.rules, encoding: .utf8)) ?? "<unreadable>" }
    }
}
