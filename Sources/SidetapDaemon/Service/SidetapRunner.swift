import Logging
import SidetapControl
import SidetapCore
import ServiceLifecycle
import UnixSignals

/// Runs an engine to completion inside a ServiceGroup with SIGINT/SIGTERM handling, the
/// terminal status line, and the final summary. Used by `sidetap run` and `sidetap replay`.
public enum SidetapRunner {
    /// Starts `engine`, runs until end of input or a shutdown signal, and returns the final
    /// statistics after every port has flushed and closed. With `privilege`, the process
    /// drops to its user once the engine has started and the control listeners are bound.
    public static func run(engine: Engine, showStatus: Bool, control: ControlAssembly.Plane? = nil,
                           privilege: PrivilegeDrop? = nil, logger: Logger) async throws -> EngineStatistics {
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
        if let privilege {
            let owned = [control?.server.socketPath].compactMap { $0 } + privilege.ownedPaths
            services.append(.init(service: PrivilegeDropService(drop: privilege, socketPath: control?.server.socketPath,
                                                                tls: control?.server.tls, handOverPaths: owned, logger: logger),
                                  successTerminationBehavior: .ignore, serviceName: "privilege"))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigint, .sigterm], cancellationSignals: [], logger: quiet))
        try await group.run()
        return engine.statistics()
    }
}
