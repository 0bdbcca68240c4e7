import Foundation
import SidetapControl
import SidetapTestKit
import Testing

/// Issue 4 end to end: `sidetap run` taps a bridge between a client and a server namespace
/// holding real TCP connections; appliances and the administrator cut them through the
/// control channel (Unix socket and HTTPS with tokens), and the wire, the kernel and the
/// audit log are checked.
@Suite(.serialized) struct CutEndToEndTests {
    /// `sidetap token new NAME`: (token, digest).
    static func newToken(_ name: String) throws -> (String, String) {
        let output = try ExternalTool.output(TestSupport.sidetapExecutable, ["token", "new", name])
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let token = lines.first(where: { $0.hasPrefix("stp_") }),
              let digestLine = lines.first(where: { $0.hasPrefix("token: \"") }) else {
            throw TestFailure("unexpected `sidetap token new` output: \(output)")
        }
        return (token, String(digestLine.dropFirst("token: \"".count).dropLast()))
    }

    @Test(.timeLimit(.minutes(3))) func appliancesCutRealConnectionsThroughTheControlChannel() throws {
        let lab = try CutLab(octet: 43)
        defer { lab.cleanup() }
        let dir = lab.directory
        _ = try TestCertificates(in: dir)
        var tokens: [String: String] = [:]
        var digests: [String: String] = [:]
        for name in ["ids", "learner", "narrow"] {
            let (token, digest) = try Self.newToken(name)
            tokens[name] = token
            digests[name] = digest
            try token.write(toFile: dir + "/\(name).token", atomically: true, encoding: .utf8)
        }
        try "accept any\n".write(toFile: dir + "/all.rules", atomically: true, encoding: .utf8)
        let socket = dir + "/control.sock"
        let table = "st\(lab.lab.prefix.dropFirst(2))"
        let config = """
            sources:
              - { name: bridge, interface: br0, guest: client, immediate: true }
            ports:
              - { name: all, kind: discard, rules: all.rules }
            options: { control_socket: \(socket), status: off }
            control:
              audit: audit.jsonl
              listen: 127.0.0.1:18443
              tls: { certificate: server.pem, key: server.key }
              cuts: { default_ttl: 60, escalation_window: 1s, nftables_table: \(table) }
              appliances:
                - { name: ids, token: "\(digests["ids"]!)", actions: [cut, block, read_flows, read_stats], networks: [\(lab.subnet)], mode: enforcing }
                - { name: learner, token: "\(digests["learner"]!)", actions: [cut, block, read_flows], networks: [\(lab.subnet)], mode: learning }
                - { name: narrow, token: "\(digests["narrow"]!)", actions: [cut], networks: [10.99.0.0/16], mode: enforcing }
            """
        try config.write(toFile: dir + "/sidetap.yaml", atomically: true, encoding: .utf8)
        let check = try ExternalTool.run(TestSupport.sidetapExecutable, ["check", dir + "/sidetap.yaml"])
        #expect(check.succeeded, "sidetap check: \(check.stderr)")

        try lab.startServer()
        try lab.startSidetap(config: dir + "/sidetap.yaml")
        #expect(lab.wait(seconds: 20) { ControlSocket.isAnswering(socket) }, "sidetap did not open its control socket: \(lab.log("sidetap.log"))")

        func ctl(_ appliance: String?, _ arguments: [String]) throws -> ExternalTool.Output {
            if let appliance {
                return try lab.sidetapInTap(["ctl"] + arguments.prefix(1) + ["--url", "https://127.0.0.1:18443", "--ca", dir + "/ca.pem",
                                                                        "--token-file", dir + "/\(appliance).token"] + arguments.dropFirst())
            }
            return try ExternalTool.run(TestSupport.sidetapExecutable, ["ctl"] + arguments.prefix(1) + ["--socket", socket] + arguments.dropFirst())
        }
        let client = lab.clientAddress, server = lab.serverAddress

        // 1. A reset from the administrator: both ends of a live connection see it reset.
        try lab.startClient(port: 40001, seconds: 30)
        #expect(lab.wait(seconds: 10) { lab.log("client-40001.log").contains("pong") }, "the client never connected: \(lab.log("client-40001.out"))")
        #expect(lab.wait(seconds: 5) { (try? ctl(nil, ["flows", "--port", "40001"]).stdout.contains("\(client):40001")) == true },
                "the flow never showed up in the flow table")
        let reset = try ctl(nil, ["cut", "--protocol", "tcp", "--source", "\(client):40001", "--destination", "\(server):8080",
                                  "--method", "reset", "--reason", "e2e reset"])
        #expect(reset.succeeded, "ctl cut: \(reset.stderr)")
        #expect(reset.stdout.contains("active") && reset.stdout.contains("sent RST"), "\(reset.stdout.prefix(600))")
        #expect(lab.wait(seconds: 5) { lab.log("client-40001.log").contains("RESET") }, "the client was not reset: \(lab.log("client-40001.log"))")
        #expect(lab.wait(seconds: 5) { lab.log("server.log").contains("RESET 40001") }, "the server was not reset: \(lab.log("server.log"))")

        // 2. Learning mode: answered with what would be done; the connection lives on.
        try lab.startClient(port: 40002, seconds: 30)
        #expect(lab.wait(seconds: 10) { lab.log("client-40002.log").contains("pong") })
        #expect(lab.wait(seconds: 5) { (try? ctl(nil, ["flows", "--port", "40002"]).stdout.contains("\(client):40002")) == true })
        let learned = try ctl("learner", ["cut", "--protocol", "tcp", "--source", "\(client):40002", "--destination", "\(server):8080",
                                          "--method", "reset"])
        #expect(learned.succeeded, "learning cut: \(learned.stderr)")
        #expect(learned.stdout.contains("learned") && learned.stdout.contains("would send RST"), "\(learned.stdout.prefix(600))")
        let pongsBefore = lab.log("client-40002.log").components(separatedBy: "pong").count
        #expect(lab.wait(seconds: 4) { lab.log("client-40002.log").components(separatedBy: "pong").count >= pongsBefore + 2 },
                "the connection stopped after a learning-mode cut")
        #expect(!lab.log("client-40002.log").contains("RESET"))

        // 3. Refusals: wrong token 401, out of scope 403, malformed 400, never executed.
        try "stp_not-a-real-token".write(toFile: dir + "/bad.token", atomically: true, encoding: .utf8)
        let unauthorized = try ctl("bad", ["stats"])
        #expect(unauthorized.status == 3 && unauthorized.stderr.contains("HTTP 401"), "\(unauthorized.stderr.prefix(600))")
        let outOfScope = try ctl("narrow", ["cut", "--protocol", "tcp", "--source", "\(client):40002", "--destination", "\(server):8080",
                                            "--method", "reset"])
        #expect(outOfScope.status == 3 && outOfScope.stderr.contains("HTTP 403") && outOfScope.stderr.contains("outside"), "\(outOfScope.stderr.prefix(600))")
        let notAllowed = try ctl("narrow", ["stats"])
        #expect(notAllowed.stderr.contains("HTTP 403") && notAllowed.stderr.contains("read_stats"), "\(notAllowed.stderr.prefix(600))")
        let malformed = try ctl("ids", ["cut", "--protocol", "tcp", "--source", "nowhere:1", "--destination", "\(server):8080", "--method", "reset"])
        #expect(malformed.stderr.contains("HTTP 400") && malformed.stderr.contains("'source' must be an IPv4 or IPv6 address"), "\(malformed.stderr.prefix(600))")
        #expect(!lab.log("client-40002.log").contains("RESET"))

        // 4. A block by an enforcing appliance: no new connection until the TTL ends, then
        //    connections work again without Sidetap doing anything.
        #expect(try lab.connects(fromPort: 40100))
        // `sidetap ctl watch` prints the block's events as they happen.
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: TestSupport.sidetapExecutable)
        watcher.arguments = ["ctl", "watch", "--socket", socket]
        FileManager.default.createFile(atPath: dir + "/watch.log", contents: nil)
        watcher.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/watch.log"))
        watcher.standardError = watcher.standardOutput
        try watcher.run()
        defer { if watcher.isRunning { kill(watcher.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 0.5)
        let block = try ctl("ids", ["cut", "--network", server, "--method", "block", "--ttl", "3", "--reason", "e2e block"])
        #expect(block.succeeded && block.stdout.contains("blocked network \(server)/32 for 3 s"), "\(block.stdout) \(block.stderr)")
        #expect(try !lab.connects(fromPort: 40101), "a new connection got through a block")
        #expect(lab.wait(seconds: 5) { lab.log("watch.log").contains("cut") && lab.log("watch.log").contains("active: blocked network \(server)/32") },
                "ctl watch: \(lab.log("watch.log"))")
        let nft = try lab.lab.exec(in: "t", ["nft", "list", "tables"])
        #expect(nft.stdout.contains("inet \(table)") && nft.stdout.contains("bridge \(table)"), "\(nft.stdout.prefix(600))")
        #expect(lab.wait(seconds: 8) { (try? lab.connects(fromPort: 40102)) == true }, "connections did not work again after the TTL")

        // The appliance sees its own cuts; the administrator sees all.
        let theirs = try ctl("ids", ["cuts", "--json"])
        #expect(theirs.stdout.contains("e2e block") && !theirs.stdout.contains("e2e reset"))
        let all = try ctl(nil, ["cuts", "--json"])
        #expect(all.stdout.contains("e2e block") && all.stdout.contains("e2e reset"))
        let stats = try ctl(nil, ["stats"])
        #expect(stats.succeeded && stats.stdout.contains("source bridge"), "\(stats.stdout.prefix(600))")
        let metrics = try ctl(nil, ["metrics"])
        let exposition = metrics.stdout
        #expect(metrics.succeeded, "\(metrics.stderr.prefix(300))")
        for name in ["sidetap_source_packets_total{", "sidetap_port_drops_total{", "sidetap_flow_table_flows{source=\"bridge\"}",
                     "sidetap_flow_table_evictions_total{", "sidetap_cuts_total{method=\"block\",result=\"expired\"} 1",
                     "sidetap_cuts_retained{state=\"expired\"} 1", "sidetap_cut_blocks_active 0"] {
            #expect(exposition.contains(name), "\(name) missing from /metrics")
        }

        // 5. Clean shutdown removes Sidetap's nftables tables.
        #expect(lab.stopSidetap() == 0, "sidetap did not stop cleanly: \(lab.log("sidetap.log"))")
        let after = try lab.lab.exec(in: "t", ["nft", "list", "tables"])
        #expect(!after.stdout.contains(table), "the nftables tables were left behind: \(after.stdout)")

        // 6. The audit log has every request and cut, verifies, and an edit is caught.
        let audit = try String(contentsOfFile: dir + "/audit.jsonl", encoding: .utf8)
        let lines = audit.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("\"status\":401") && $0.contains("\"outcome\":\"denied\"") })
        #expect(lines.contains { $0.contains("\"status\":403") && $0.contains("\"appliance\":\"narrow\"") })
        #expect(lines.contains { $0.contains("\"status\":400") && $0.contains("\"outcome\":\"invalid\"") })
        #expect(lines.contains { $0.contains("\"kind\":\"cut\"") && $0.contains("\"outcome\":\"learned\"") })
        #expect(lines.contains { $0.contains("\"kind\":\"cut\"") && $0.contains("\"outcome\":\"expired\"") })
        let verified = try ExternalTool.run(TestSupport.sidetapExecutable, ["audit", "verify", dir + "/audit.jsonl"])
        #expect(verified.succeeded && verified.stdout.contains("intact"), "\(verified.stdout.prefix(600))")
        let target = try #require(lines.firstIndex { $0.contains("\"status\":401") })
        var edited = lines
        edited[target] = edited[target].replacingOccurrences(of: "\"status\":401", with: "\"status\":200")
        try (edited.joined(separator: "\n") + "\n").write(toFile: dir + "/edited.jsonl", atomically: true, encoding: .utf8)
        let caught = try ExternalTool.run(TestSupport.sidetapExecutable, ["audit", "verify", dir + "/edited.jsonl"])
        #expect(caught.status == 1)
        #expect(caught.stdout.contains("NOT intact") && caught.stdout.contains("line \(target + 1)"), "\(caught.stdout.prefix(600))")
    }
}
