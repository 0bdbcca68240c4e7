import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle
import SidetapCore

/// The control API's listeners, run as one `Service` in the daemon's service group:
/// the local Unix socket (administration; mode 0660 in a 0750 directory) and, when configured,
/// HTTPS on TCP for appliances (bearer tokens, optional client certificates).
///
/// When the Unix socket cannot be used (a path too long, another Sidetap on it), the problem
/// is logged and the rest of Sidetap runs on without it: the tap must not stop because its
/// control channel could not start. A TLS listener that cannot start is logged as an error
/// the same way.
public struct ControlServer: Service {
    public let socketPath: String?
    public let tls: TLSListenerSettings?
    public let api: ControlAPI
    let logger: Logger

    public init(socketPath: String?, tls: TLSListenerSettings?, api: ControlAPI, logger: Logger) {
        self.socketPath = socketPath
        self.tls = tls
        self.api = api
        self.logger = logger
    }

    public func run() async throws {
        let events = api.events
        // Open event streams would hold a graceful shutdown forever: end them first.
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                if let socketPath {
                    group.addTask { await runUnix(socketPath) }
                }
                if let tls {
                    group.addTask { await runTLS(tls) }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            events.finish()
        }
        events.finish()
        await api.cuts.shutdown()
    }

    func runUnix(_ path: String) async {
        do {
            try ControlSocket.prepare(path)
        } catch {
            logger.warning("control socket unavailable; running without it", metadata: ["error": "\(error)"])
            return
        }
        let logger = self.logger
        let app = Application(
            router: api.makeRouter(channel: .unix),
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

    func runTLS(_ settings: TLSListenerSettings) async {
        let logger = self.logger
        do {
            let configuration = try settings.makeConfiguration()
            let app = Application(
                router: api.makeRouter(channel: .tls),
                server: try .tls(.http1(), tlsConfiguration: configuration),
                configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "sidetap"),
                onServerRunning: { channel in
                    logger.info("appliance control channel ready", metadata: ["sidetap.control.tls": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                },
                logger: logger)
            try await app.runService()
        } catch {
            logger.error("appliance control channel (TLS) unavailable", metadata: ["error": "\(error)", "listen": "\(settings.host):\(settings.port)"])
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
