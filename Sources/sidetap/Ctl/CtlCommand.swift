import ArgumentParser
import Foundation
import NIOHTTP1
import SidetapControl
import SidetapDaemon

/// `sidetap ctl`: the control channel's client, for operators (local socket) and appliances (HTTPS).
struct CtlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Talk to a running Sidetap's control channel: cut connections, list cuts and flows, read stats, reload, watch events.",
        subcommands: [CtlCut.self, CtlCuts.self, CtlCancel.self, CtlFlows.self, CtlStats.self, CtlMetrics.self, CtlReload.self, CtlWatch.self,
                      CtlMode.self, CtlAppliances.self, CtlHealth.self]
    )
}

/// `sidetap ctl cut`.
struct CtlCut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cut",
        abstract: "Cut a connection (reset, block or both) or block a host or network.",
        discussion: """
            Examples:
              sidetap ctl cut --protocol tcp --source 10.0.0.5:43512 --destination 10.0.1.9:443 --method reset --reason "C2 beacon"
              sidetap ctl cut --network 203.0.113.0/24 --method block --ttl 600
            """)

    @OptionGroup var connection: CtlConnection
    @Option(help: "tcp, udp, icmp, icmp6, sctp or a protocol number.") var `protocol`: String?
    @Option(help: "ADDRESS[:PORT] (IPv6 as [ADDR]:PORT).") var source: String?
    @Option(help: "ADDRESS[:PORT] (IPv6 as [ADDR]:PORT).") var destination: String?
    @Option(help: "A host or network to block (ADDRESS or ADDRESS/LENGTH).") var network: String?
    @Option(help: "reset, block or both.") var method: String = "reset"
    @Option(help: "Seconds the block lasts (default: the server's default_ttl).") var ttl: Int?
    @Option(help: "Why; recorded in the audit log.") var reason: String = ""

    func run() async throws {
        var body: [String: Any] = ["method": method, "reason": reason]
        if let ttl { body["ttl"] = ttl }
        if let network {
            body["network"] = network
        } else {
            guard let proto = `protocol`, let source, let destination else {
                throw ValidationError("give --protocol, --source and --destination, or --network")
            }
            body["protocol"] = proto
            let (sourceAddress, sourcePort) = try Self.endpoint(source, "--source")
            let (destinationAddress, destinationPort) = try Self.endpoint(destination, "--destination")
            body["source"] = sourceAddress
            body["destination"] = destinationAddress
            if let sourcePort { body["source_port"] = sourcePort }
            if let destinationPort { body["destination_port"] = destinationPort }
        }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let answer = try await connection.call(.POST, "/v1/cuts", body: data)
        connection.show(answer) { CtlRender.cut($0) }
    }

    /// Splits "10.0.0.1:80", "[fd00::1]:80", "10.0.0.1" or "fd00::1".
    static func endpoint(_ text: String, _ option: String) throws -> (String, Int?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let address = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { throw ValidationError("\(option): expected [ADDRESS]:PORT, got '\(text)'") }
            guard !rest.isEmpty else { return (address, nil) }
            guard let port = Int(rest.dropFirst()) else { throw ValidationError("\(option): bad port in '\(text)'") }
            return (address, port)
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]) else { throw ValidationError("\(option): bad port in '\(text)'") }
            return (String(text[..<colon]), port)
        }
        return (text, nil)
    }
}

/// `sidetap ctl cuts [ID]`.
struct CtlCuts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cuts", abstract: "List cuts, or show one.")
    @OptionGroup var connection: CtlConnection
    @Argument(help: "A cut id.") var id: String?

    func run() async throws {
        if let id {
            let answer = try await connection.call(.GET, "/v1/cuts/\(CtlRender.pathEscape(id))")
            connection.show(answer) { CtlRender.cut($0) }
        } else {
            let answer = try await connection.call(.GET, "/v1/cuts")
            connection.show(answer) { CtlRender.cuts($0) }
        }
    }
}

/// `sidetap ctl cancel ID`.
struct CtlCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Lift a cut's block before its TTL ends.")
    @OptionGroup var connection: CtlConnection
    @Argument(help: "The cut id.") var id: String

    func run() async throws {
        let answer = try await connection.call(.DELETE, "/v1/cuts/\(CtlRender.pathEscape(id))")
        connection.show(answer) { CtlRender.cut($0) }
    }
}

/// `sidetap ctl flows`.
struct CtlFlows: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flows", abstract: "List the flows Sidetap is tracking.")
    @OptionGroup var connection: CtlConnection
    @Option(help: "Only this guest's flows.") var guest: String?
    @Option(help: "Only flows with an endpoint in this network.") var network: String?
    @Option(help: "Only this protocol.") var `protocol`: String?
    @Option(help: "Only flows with an endpoint on this port.") var port: Int?
    @Option(help: "At most this many (newest first).") var limit: Int?

    func run() async throws {
        var query: [String] = []
        if let guest { query.append("guest=\(CtlRender.queryEscape(guest))") }
        if let network { query.append("network=\(CtlRender.queryEscape(network))") }
        if let proto = `protocol` { query.append("protocol=\(CtlRender.queryEscape(proto))") }
        if let port { query.append("port=\(port)") }
        if let limit { query.append("limit=\(limit)") }
        let answer = try await connection.call(.GET, "/v1/flows" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        connection.show(answer) { CtlRender.flows($0) }
    }
}

/// `sidetap ctl stats`.
struct CtlStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Per-source and per-port counters.")
    @OptionGroup var connection: CtlConnection

    func run() async throws {
        let answer = try await connection.call(.GET, "/v1/stats")
        connection.show(answer) { CtlRender.stats($0) }
    }
}

/// `sidetap ctl metrics`.
struct CtlMetrics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", abstract: "The Prometheus metrics, as a scraper sees them.")
    @OptionGroup var connection: CtlConnection

    func run() async throws {
        print(String(decoding: try await connection.call(.GET, "/metrics"), as: UTF8.self), terminator: "")
    }
}

/// `sidetap ctl reload`.
struct CtlReload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Re-read the config and rules files and apply them.")
    @OptionGroup var connection: CtlConnection

    func run() async throws {
        let answer = try await connection.call(.POST, "/v1/reload")
        connection.show(answer) { object in ((object as? [String: Any])?["message"] as? String ?? "") + "\n" }
    }
}

/// `sidetap ctl watch`.
struct CtlWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Print cut and port events as they happen, until Ctrl-C.")
    @OptionGroup var connection: CtlConnection

    func run() async throws {
        let client = try connection.client()
        let json = connection.json
        let printer = EventPrinter(json: json)
        let reply: ControlHTTPClient.Reply
        do {
            reply = try await client.stream("/v1/events") { chunk in printer.feed(chunk) }
        } catch {
            StandardError.write("sidetap ctl watch: \(error)\n")
            throw ExitCode(1)
        }
        guard reply.status == 200 else {
            let message = (try? JSONDecoder().decode(APIErrorBody.self, from: reply.body))?.error.message ?? "HTTP \(reply.status)"
            StandardError.write("sidetap ctl watch: HTTP \(reply.status): \(message)\n")
            throw ExitCode(1)
        }
    }
}

/// `sidetap ctl mode NAME learning|enforcing`.
struct CtlMode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mode", abstract: "Switch an appliance between learning and enforcing (administrator).")
    @OptionGroup var connection: CtlConnection
    @Argument(help: "The appliance.") var appliance: String
    @Argument(help: "learning or enforcing.") var mode: String

    func run() async throws {
        let body = try JSONSerialization.data(withJSONObject: ["mode": mode])
        let answer = try await connection.call(.PUT, "/v1/appliances/\(CtlRender.pathEscape(appliance))/mode", body: body)
        connection.show(answer) { object in
            let fields = object as? [String: Any] ?? [:]
            return "\(fields["name"] as? String ?? appliance): \(fields["mode"] as? String ?? mode)\n"
        }
    }
}

/// `sidetap ctl appliances`.
struct CtlAppliances: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "appliances", abstract: "List the appliances and their modes (administrator).")
    @OptionGroup var connection: CtlConnection

    func run() async throws {
        let answer = try await connection.call(.GET, "/v1/appliances")
        connection.show(answer) { CtlRender.appliances($0) }
    }
}

/// `sidetap ctl health`.
struct CtlHealth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Whether Sidetap answers, its version and uptime.")
    @OptionGroup var connection: CtlConnection

    func run() async throws {
        let answer = try await connection.call(.GET, "/v1/health")
        connection.show(answer) { object in
            let fields = object as? [String: Any] ?? [:]
            return "\(fields["status"] as? String ?? "?") \(fields["version"] as? String ?? "") up \(Int(fields["uptimeSeconds"] as? Double ?? 0)) s\n"
        }
    }
}
