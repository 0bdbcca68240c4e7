#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import SidetapControl

/// Tells systemd how the daemon is doing (`Type=notify`): `READY=1` once the engine runs and
/// the control socket answers, a `STATUS=` summary line every `statusInterval`, `WATCHDOG=1`
/// at half the watchdog interval when `WatchdogSec=` is set, and `STOPPING=1` when shutdown
/// begins. Runs as one service of the daemon's group; without `NOTIFY_SOCKET` it is not added.
public struct NotifyService: Service {
    public let socket: NotifySocket
    public let engine: Engine
    /// The local control socket to wait for before `READY=1`; nil when there is none.
    public let controlSocket: String?
    public let statusInterval: Duration
    /// The longest wait for the control socket; after it READY=1 is sent anyway (the tap runs
    /// without a control socket that cannot start, and says so in its log).
    public let readinessTimeout: Duration
    let logger: Logger

    public init(socket: NotifySocket, engine: Engine, controlSocket: String?, statusInterval: Duration = .seconds(10),
                readinessTimeout: Duration = .seconds(10), logger: Logger) {
        self.socket = socket
        self.engine = engine
        self.controlSocket = controlSocket
        self.statusInterval = statusInterval
        self.readinessTimeout = readinessTimeout
        self.logger = logger
    }

    public func run() async throws {
        let service = self
        await cancelWhenGracefulShutdown {
            await service.waitForControlSocket()
            await service.report()
        }
        notify([("STOPPING", "1"), ("STATUS", "stopping: ports drain, flush and close")])
    }

    /// READY=1, then status lines and watchdog pings until cancelled.
    private func report() async {
        guard !Task.isCancelled else { return }
        var line = StatusLine()
        notify([("READY", "1"), ("STATUS", line.render(engine.statistics()))])
        logger.info("ready", metadata: ["sidetap.notify": "\(socket.path)"])
        // Pings at half the watchdog interval; the status is refreshed at its own pace.
        let tick = socket.watchdogInterval.map { min($0 / 2, statusInterval) } ?? statusInterval
        let clock = ContinuousClock()
        var nextStatus = clock.now.advanced(by: statusInterval)
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { break }
            var fields: [(String, String)] = []
            if socket.watchdogInterval != nil { fields.append(("WATCHDOG", "1")) }
            if clock.now >= nextStatus {
                fields.append(("STATUS", line.render(engine.statistics())))
                nextStatus = clock.now.advanced(by: statusInterval)
            }
            if !fields.isEmpty { notify(fields) }
        }
    }

    private func waitForControlSocket() async {
        guard let controlSocket else { return }
        let deadline = ContinuousClock.now.advanced(by: readinessTimeout)
        while !ControlSocket.isAnswering(controlSocket) {
            guard ContinuousClock.now < deadline, !Task.isCancelled else {
                logger.warning("control socket not answering; reporting ready without it", metadata: ["sidetap.control": "\(controlSocket)"])
                return
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func notify(_ fields: [(String, String)]) {
        do {
            try socket.send(fields)
        } catch {
            logger.warning("service manager notification failed", metadata: ["error": "\(error)"])
        }
    }
}

extension NotifySocket {
    /// `RELOADING=1` with the monotonic time systemd needs to match it to `systemctl reload`;
    /// send `READY=1` (and a `STATUS=`) when the reload is done.
    public func reloading() throws(Failure) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        try send([("RELOADING", "1"), ("MONOTONIC_USEC", "\(usec)")])
    }
}

extension NotifySocket {
    /// `reload` announced to the service manager, when there is one: `RELOADING=1` before it,
    /// `READY=1` with the outcome as `STATUS=` after it (applied or refused, Sidetap runs on).
    public static func announcing(_ reload: @escaping @Sendable () async -> ReloadOutcome,
                                  to socket: NotifySocket?) -> @Sendable () async -> ReloadOutcome {
        guard let socket else { return reload }
        return {
            try? socket.reloading()
            let outcome = await reload()
            try? socket.send([("READY", "1"), ("STATUS", (outcome.applied ? "reloaded: " : "reload refused: ") + outcome.message)])
            return outcome
        }
    }
}
