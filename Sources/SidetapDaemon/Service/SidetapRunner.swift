import Foundation
import Logging
import SidetapControl
import SidetapCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs an engine to completion inside a ServiceGroup with SIGINT/SIGTERM handling, SIGHUP
/// reloads, the terminal status line, and the final summary. Used by `sidetap run` and `sidetap replay`.
public enum SidetapRunner {
    /// Starts `engine`, runs until end of input or a shutdown signal, and returns the final
    /// statistics after every port has flushed and closed. With `privilege`, the process
    /// drops to its user once the engine has started and the control listeners are bound.
    /// Under systemd (`NOTIFY_SOCKET` set), `notify` reports readiness, status, watchdog pings
    /// and stopping.
    public static func run(engine: Engine, showStatus: Bool, control: ControlAssembly.Plane? = nil,
                           privilege: PrivilegeDrop? = nil,
                           notify: NotifySocket? = NotifySocket.fromProcessEnvironment(), logger: Logger) async throws -> EngineStatistics {
        if let privilege {
            try privilege.prepareControlDirectory(socketPath: control?.server.socketPath)
        }
        try engine.start()
        var services = [ServiceGroupConfiguration.ServiceConfiguration(
            service: EngineService(engine: engine), successTerminationBehavior: .gracefullyShutdownGroup,
            serviceName: "engine")]
        if showStatus {
            services.append(.init(service: StatusLineService(engine: engine), successTerminationBehavior: .ignore,
                                  serviceName: "status"))
        }
        if let control {
            services.append(.init(service: control.server, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore,
                                  serviceName: "control"))
            services.append(.init(service: control.stateEvents, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore,
                                  serviceName: "state-events"))
        }
        // SIGHUP reloads the config file (through the control channel's reload when it is on,
        // so both are one serialised path).
        if let reload = control?.reload ?? engine.fileReload() {
            services.append(.init(service: ReloadSignalService(reload: reload, logger: logger), successTerminationBehavior: .ignore,
                                  failureTerminationBehavior: .ignore, serviceName: "reload-signal"))
        }
        if let privilege {
            let owned = [control?.server.socketPath].compactMap { $0 } + privilege.ownedPaths
            services.append(.init(service: PrivilegeDropService(drop: privilege, socketPath: control?.server.socketPath,
                                                                tls: control?.server.tls, handOverPaths: owned, logger: logger),
                                  successTerminationBehavior: .ignore, serviceName: "privilege"))
        }
        if let notify {
            // Last in the list, so it is the first told of a shutdown and sends STOPPING=1 at once.
            services.append(.init(service: NotifyService(socket: notify, engine: engine, controlSocket: control?.server.socketPath, logger: logger),
                                  successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore, serviceName: "notify"))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigint, .sigterm], cancellationSignals: [], logger: quiet))
        try await group.run()
        return engine.statistics()
    }
}

extension Engine {
    /// The config file the engine runs, or nil when its config was not read from a file
    /// (the embedded default job).
    public var configFile: String? {
        let file = state.withLock { $0.config.file }
        return FileManager.default.fileExists(atPath: file) ? file : nil
    }

    /// A reload of the engine's config file without the control channel (no appliances to
    /// replace), or nil when there is no file.
    func fileReload() -> (@Sendable () async -> ReloadOutcome)? {
        guard let file = configFile else { return nil }
        let running = PipelineSignature(state.withLock { $0.config })
        let reloader = ControlReload(path: file, running: running, access: nil, engine: self)
        return { await reloader() }
    }
}
