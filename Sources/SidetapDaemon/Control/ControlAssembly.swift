import Foundation
import Logging
import SidetapControl
import SidetapCore
import SidetapCut

/// Builds the control channel for a running engine from the config: audit log, appliance
/// access, the cutters (RST injection on the interface a flow was seen on; nftables blocks in
/// Sidetap's own tables), the cut service over the engine's flow tables, metrics, and the
/// listeners. The one place that knows all of them.
public enum ControlAssembly {
    /// The control channel's services: the listeners and the state-change publisher.
    public struct Plane: Sendable {
        public var server: ControlServer
        public var stateEvents: StateEventService
        /// The config reload (`POST /v1/reload`), shared with SIGHUP; nil when the config
        /// was not read from a file.
        public var reload: (@Sendable () async -> ReloadOutcome)?
    }

    /// Why the control channel could not be built.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The control server for `engine`, or nil when neither the local socket nor the TLS
    /// listener is configured. A config read from a file can be reloaded (`POST /v1/reload`).
    public static func build(_ config: SidetapConfig, engine: Engine, logger: Logger) throws(Failure) -> Plane? {
        let socket = config.options.resolvedControlSocket
        let control = config.control
        guard socket != nil || control.tls != nil else { return nil }

        let auditPath = control.resolvedAuditPath
        let audit: ChainedAuditLog
        do {
            let directory = (auditPath as NSString).deletingLastPathComponent
            if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
            }
            audit = try ChainedAuditLog(path: auditPath)
        } catch {
            throw Failure(description: "audit log \(auditPath): \(error)")
        }

        let access: AccessHolder
        do {
            access = AccessHolder(try AccessPolicy(appliances: control.appliances, labels: config.labelAssignment))
        } catch {
            throw Failure(description: "control.appliances: \(error)")
        }

        let resetter: (any ConnectionResetter)? = control.resetEnabled ? PacketSocketResetter() : nil
        var blocker: (any TrafficBlocker)?
        if control.blockEnabled {
            do {
                blocker = try NftablesBlocker(tableName: control.nftablesTable)
            } catch {
                throw Failure(description: "control.cuts: \(error)")
            }
        }

        let reload: (@Sendable () async -> ReloadOutcome)?
        if FileManager.default.fileExists(atPath: config.file) {
            let reloader = ControlReload(path: config.file, running: PipelineSignature(config), access: access, engine: engine)
            reload = NotifySocket.announcing({ await reloader() }, to: .fromProcessEnvironment())
        } else {
            reload = nil
        }
        let events = EventHub()
        let flowTables = engine.flowLookups
        let cuts = CutService(settings: control.cuts, flows: { flowTables }, resetter: resetter, blocker: blocker,
                              audit: audit, events: events)
        let api = ControlAPI(
            version: SidetapVersion.current,
            statistics: { engine.statistics() },
            flows: { flowTables },
            cuts: cuts, events: events, access: access, audit: audit, reload: reload,
            metrics: { MetricsExporter.render(engine: engine, cuts: cuts.counters) },
            logger: logger)
        do {
            try audit.append(AuditEntry(kind: "start", outcome: "started",
                                        reason: "\(SidetapVersion.current) started; \(control.appliances.count) appliance(s); audit head \(audit.head)"))
        } catch {
            throw Failure(description: "audit log \(auditPath): \(error)")
        }
        logger.info("audit log", metadata: ["path": "\(auditPath)", "head": "\(audit.head)"])
        return Plane(server: ControlServer(socketPath: socket, tls: control.tls, api: api, logger: logger),
                     stateEvents: StateEventService(engine: engine, events: events), reload: reload)
    }
}
