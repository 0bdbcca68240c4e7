import ArgumentParser
import Foundation
import NIOHTTP1
import SidetapControl
import SidetapCore
import SidetapDaemon

/// `sidetap stats`: the counters of a running Sidetap, read over its local control socket.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show the per-source and per-port counters of a running Sidetap (from its local control socket)."
    )

    @Option(help: "Control socket of the running Sidetap (default: /run/sidetap/control.sock as root).")
    var socket: String?

    @Flag(help: "Print the raw JSON of GET /v1/stats.")
    var json = false

    func run() async throws {
        let path = socket ?? ControlSocket.defaultPath()
        let response: ControlHTTPClient.Reply
        do {
            response = try await ControlHTTPClient(endpoint: .unix(path: path)).send(.GET, "/v1/stats")
        } catch {
            StandardError.write("sidetap stats: \(error)\n")
            throw ExitCode(1)
        }
        guard response.status == 200 else {
            StandardError.write("sidetap stats: \(path): HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))\n")
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: response.body, as: UTF8.self))
            return
        }
        do {
            let stats = try JSONDecoder().decode(EngineStatistics.self, from: response.body)
            print(Summary.render(stats))
        } catch {
            StandardError.write("sidetap stats: unexpected answer from \(path): \(error)\n")
            throw ExitCode(1)
        }
    }
}
