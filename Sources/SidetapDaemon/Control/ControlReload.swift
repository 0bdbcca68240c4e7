import Foundation
import SidetapControl
import SidetapLabels

/// `POST /v1/reload` and SIGHUP: re-reads the config file and its rules files, and applies
/// them to the running pipeline at once or not at all.
///
/// Applied live: ports (added ports open and start receiving; removed ports drain, flush and
/// close; ports whose settings changed are closed and opened again; unchanged ports keep
/// running without losing a packet), every port's rules (sources switch between two
/// batches), and the appliances (tokens, certificates, actions, scopes, modes, rate limits).
///
/// Refused, with every reason, leaving everything as it runs: an invalid config or rules
/// file, a new port that cannot be opened, and changes only a restart applies — sources,
/// `options`, `flows`, and the `control` section other than `appliances` (listen, tls,
/// audit, cuts).
actor ControlReload {
    let path: String
    private var running: PipelineSignature
    /// The control channel's appliance policy; nil when the channel is off (SIGHUP only).
    let access: AccessHolder?
    let engine: Engine?

    init(path: String, running: PipelineSignature, access: AccessHolder?, engine: Engine?) {
        self.path = path
        self.running = running
        self.access = access
        self.engine = engine
    }

    func callAsFunction() async -> ReloadOutcome {
        let config: SidetapConfig
        do {
            config = try SidetapConfig.load(path: path)
        } catch {
            return refuse("\(path) is invalid", errors: error.errors.map(\.description))
        }
        var policy: AccessPolicy?
        if access != nil {
            do {
                policy = try AccessPolicy(appliances: config.control.appliances, labels: config.labelAssignment)
            } catch {
                return refuse("\(path): control.appliances is invalid", errors: ["\(error)"])
            }
        }
        let next = PipelineSignature(config)
        if next.control != running.control {
            return refuse("\(path): the control section changed outside 'appliances'",
                          errors: ["\(path): control listen, tls, audit and cuts apply at the next start only; restart Sidetap to change them"])
        }
        if next.labels != running.labels {
            return refuse("\(path): labels or clearances changed",
                          errors: ["\(path): the labels file, source labels and port clearances apply at the next start only; restart Sidetap to change them (appliance clearances reload)"])
        }
        var parts: [String] = []
        if let engine {
            switch await engine.applyOffPool(config) {
            case .failure(let error):
                return refuse("\(path) cannot be applied", errors: error.message.split(separator: "\n").map(String.init))
            case .success(let report):
                parts.append(report.description)
                if !report.failed.isEmpty {
                    access?.replace(with: policy!)
                    running = next
                    return ReloadOutcome(applied: true, message: "reloaded \(path): " + parts.joined(separator: "; ")
                                         + "; some replaced ports could not be opened again", errors: report.failed)
                }
            }
        } else if next.structure != running.structure {
            parts.append("the file's sources or ports differ and take effect at the next start")
        }
        if let access, let policy {
            access.replace(with: policy)
            parts.append("appliances (\(config.control.appliances.count))")
        }
        running = next
        return ReloadOutcome(applied: true, message: "reloaded \(path): " + parts.joined(separator: "; "))
    }

    private func refuse(_ reason: String, errors: [String]) -> ReloadOutcome {
        ReloadOutcome(applied: false, message: "\(reason); the running configuration stays", errors: errors)
    }
}

/// What identifies the running pipeline: its sources and ports (structure), the text of each
/// port's rules file (rules), and the control settings a reload cannot change (control).
struct PipelineSignature: Sendable, Equatable {
    let structure: [String]
    let rules: [String]
    let control: String
    /// Encodings, source labels and port clearances: a change needs a restart.
    let labels: String

    init(_ config: SidetapConfig) {
        var structure: [String] = []
        for source in config.sources {
            structure.append("source " + Engine.sourceSettings(source))
        }
        for port in config.ports {
            structure.append("port \(port.name) " + Engine.portSettings(port) + " " + Engine.selection(port, text: nil))
        }
        self.structure = structure
        // Labels are enforced by the capture threads' label gates, built at start.
        labels = config.labelAssignment.map { "labels \($0.encodings) \($0.sources) \($0.ports)" } ?? ""

        rules = config.ports.map { (try? String(contentsOfFile: $0.rules, encoding: .utf8)) ?? "<unreadable>" }
        var fixed = config.control
        fixed.appliances = []
        // `options` (the control socket among them) is compared by the engine.
        control = String(describing: fixed)
    }
}
