import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SidetapControl
import SidetapCore
import Testing

/// The control API on a real Unix socket, read with the same client `sidetap stats` uses.
@Suite(.serialized) struct ControlServerTests {
    static let sample = EngineStatistics(
        sources: [.init(name: "web01", guest: "web01", packets: 1234, bytes: 987_654, decodeIncomplete: 3,
                        kernelDropped: 7, errors: 0, problem: nil, finished: false)],
        ports: [.init(name: "waf", kind: "file", received: 1234, selected: 600, sent: 590, sentBytes: 400_000,
                      droppedRingFull: 4, droppedRateLimit: 5, droppedWriteError: 1, queued: 2, lastError: "write: No space left on device")],
        elapsedNanos: 5_000_000_000)

    /// `GET target` with the client `sidetap stats` and `sidetap ctl` use.
    func get(_ target: String, _ path: String) async throws -> ControlHTTPClient.Reply {
        try await ControlHTTPClient(endpoint: .unix(path: path), timeout: .seconds(60)).send(.GET, target)
    }

    func socketPath(_ tag: String) -> String {
        NSTemporaryDirectory() + "stc-\(tag)-\(getpid())/control.sock"
    }

    /// Runs a server on `path` in a service group while `body` runs, then shuts it down
    /// gracefully, as the daemon does.
    func withServer(_ path: String, _ body: () async throws -> Void) async throws {
        let server = ControlServer(socketPath: path, tls: nil, api: ControlLab(tag: "srv").api, logger: .init(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [server], logger: .init(label: "test")))
        let task = Task { try await group.run() }
        var waited = 0
        while !ControlSocket.isAnswering(path) && waited < 200 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 1
        }
        #expect(ControlSocket.isAnswering(path), "the server did not start")
        try await body()
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    @Test func statsAndHealthOverTheSocket() async throws {
        let path = socketPath("stats")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        try await withServer(path) {
            let stats = try await get("/v1/stats", path)
            #expect(stats.status == 200)
            let decoded = try JSONDecoder().decode(EngineStatistics.self, from: stats.body)
            #expect(decoded == Self.sample)

            let health = try await get("/v1/health", path)
            #expect(health.status == 200)
            let text = String(decoding: health.body, as: UTF8.self)
            #expect(text.contains("\"status\":\"ok\""))
            #expect(text.contains("Sidetap test"))

            let missing = try await get("/v1/nothing", path)
            #expect(missing.status == 404)

            // Owner and group only.
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660)
        }
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file was left behind")
    }

    @Test func aStaleSocketIsReplacedAndALiveOneIsLeftAlone() async throws {
        let path = socketPath("stale")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        // A socket file nobody listens on, as a crashed run leaves it.
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!ControlSocket.isAnswering(path))

        try await withServer(path) {
            // A second server on the same path must not take it over, and must not throw.
            let intruder = ControlServer(socketPath: path, tls: nil, api: ControlLab(tag: "intruder").api,
                                         logger: .init(label: "test"))
            try await intruder.run()
            let health = try await get("/v1/health", path)
            #expect(String(decoding: health.body, as: UTF8.self).contains("Sidetap test"))
            #expect(health.status == 200)
        }
    }

    @Test func aClientGetsAClearErrorWhenNothingListens() async {
        do {
            _ = try await get("/v1/stats", socketPath("none"))
            Issue.record("a request to a missing socket succeeded")
        } catch {
            #expect("\(error)".contains("is Sidetap running"))
        }
    }

    @Test func socketPathsMustFit() {
        do {
            try ControlSocket.prepare("/tmp/" + String(repeating: "x", count: 120))
            Issue.record("an over-long socket path was accepted")
        } catch {
            #expect(error.reason.contains("107 bytes"))
        }
    }
}
