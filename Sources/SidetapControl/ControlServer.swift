import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SidetapCore

/// The control API on the local Unix socket: JSON over HTTP, read-only for now —
/// `GET /v1/health` and `GET /v1/stats` (every source and port counter).
///
/// It runs as a `Service` in the daemon's service group. When the socket cannot be used (a
/// path too long, another Sidetap on it), the problem is logged and the rest of Sidetap runs
/// on without it: the tap must not stop because its stats endpoint could not start.
public struct ControlServer: Service {
    public let socketPath: String
    let statistics: @Sendable () -> EngineStatistics
    let version: String
    let logger: Logger

    /// - Parameters:
    ///   - socketPath: where to listen (see `ControlSocket.defaultPath()`).
    ///   - version: reported by `/v1/health`.
    ///   - statistics: a snapshot of the engine's counters, taken per request.
    public init(socketPath: String, version: String, logger: Logger, statistics: @escaping @Sendable () -> EngineStatistics) {
        self.socketPath = socketPath
        self.version = version
        self.logger = logger
        self.statistics = statistics
    }

    /// The routes, separate from the socket so tests can drive them in memory.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let started = Date()
        let version = self.version
        let statistics = self.statistics
        router.get("v1/health") { _, _ -> Health in
            Health(status: "ok", version: version, uptimeSeconds: Date().timeIntervalSince(started))
        }
        router.get("v1/stats") { _, _ -> StatsResponse in
            StatsResponse(statistics: statistics())
        }
        return router
    }

    public func run() async throws {
        do {
            try ControlSocket.prepare(socketPath)
        } catch {
            logger.warning("control socket unavailable; running without it", metadata: ["error": "\(error)"])
            return
        }
        let path = socketPath
        let logger = self.logger
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "sidetap"),
            onServerRunning: { _ in
                ControlSocket.restrict(path)
                logger.info("control socket ready", metadata: ["sidetap.control": "\(path)"])
            },
            logger: logger)
        defer { ControlSocket.remove(path) }
        do {
            try await app.runService()
        } catch {
            logger.warning("control socket stopped", metadata: ["error": "\(error)"])
        }
    }
}

/// `GET /v1/health`.
public struct Health: ResponseCodable, Sendable, Equatable {
    public var status: String
    public var version: String
    public var uptimeSeconds: Double
}

/// `GET /v1/stats`: the engine's statistics as they are.
public struct StatsResponse: ResponseEncodable, Decodable, Sendable {
    public var statistics: EngineStatistics

    public init(statistics: EngineStatistics) {
        self.statistics = statistics
    }

    public func encode(to encoder: any Encoder) throws {
        try statistics.encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        statistics = try EngineStatistics(from: decoder)
    }
}
