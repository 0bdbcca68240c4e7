import Logging
import SidetapControl
import SidetapCore
import ServiceLifecycle
import UnixSignals

/// Runs an engine to completion inside a ServiceGroup with SIGINT/SIGTERM handling, the
/// terminal status line, and the final summary. Used by `sidetap run` and `sidetap replay`.
public enum SidetapRunner {
    /// Starts `engine`, runs until end of input or a shutdown signal, and returns the final
    /// statistics after every port has flushed and closed. Under systemd (`NOTIFY_SOCKET` set),
    /// `notify` reports readiness, status, watchdog pings and stopping.
    public static func run(engine: Engine, showStatus: Bool, control: ControlAssembly.Plane? = nil,
                           notify: NotifySocket? = NotifySocket.fromProcessEnvironment(), logger: Logger) async throws -> EngineStatistics {
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
