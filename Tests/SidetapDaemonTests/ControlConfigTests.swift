import Foundation
@testable import SidetapDaemon
import SidetapControl
import SidetapCore
import SidetapFlows
import SidetapTestKit
import Testing

/// The `control:` and `flows:` sections: every mistake named with its line, and reload.
@Suite struct ControlConfigTests {
    static let head = "sources:\n  - { name: a, file: a.pcap }\nports:\n  - { name: p, kind: discard, rules: r.rules }\n"
    static let digest = TokenDigest(token: "stp_test").description

    @Test func controlMistakesAreNamed() {
        expectConfigError(Self.head + "control:\n  listen: 127.0.0.1:8443\n", line: 6, containing: "needs 'tls' with 'certificate' and 'key'")
        expectConfigError(Self.head + "control:\n  listen: 127.0.0.1\n", line: 6, containing: "listen must be HOST:PORT")
        expectConfigError(Self.head + "control:\n  listen: 127.0.0.1:0\n", line: 6, containing: "between 1 and 65535")
        expectConfigError(Self.head + "control:\n  listen: 127.0.0.1:8443\n  tls: { certificate: /nonexistent.pem, key: /nonexistent.key }\n",
                          line: 7, containing: "/nonexistent.pem: not a readable PEM certificate")
        expectConfigError(Self.head + "control:\n  tls: { certificate: a, key: b }\n", line: 6, containing: "'tls' is set but 'listen' is not")
        expectConfigError(Self.head + "control:\n  cuts: { default_ttl: 2d, max_ttl: 1d }\n", line: 6, containing: "default_ttl must be a whole number of seconds")
        expectConfigError(Self.head + "control:\n  cuts: { escalation_window: 5m }\n", line: 6, containing: "escalation_window must be a duration between 100ms and 60s")
        expectConfigError(Self.head + "control:\n  cuts: { nftables_table: \"my table\" }\n", line: 6, containing: "nftables_table must be 1–32 letters")
        expectConfigError(Self.head + "control:\n  cuts: { ttl: 5 }\n", line: 6, containing: "unknown key 'ttl'")
        expectConfigError(Self.head + "control:\n  appliances:\n    - { name: a, token: \"\(Self.digest)\", actions: [read_stats] }\n",
                          line: 7, containing: "appliances connect over HTTPS")
    }

    @Test func applianceMistakesAreNamed() {
        func appliance(_ fields: String) -> String {
            Self.head + "control:\n  appliances:\n    - { name: ids, \(fields) }\n"
        }
        expectConfigError(appliance("token: nonsense, actions: [read_stats]"), line: 7, containing: "token:")
        expectConfigError(appliance("token: \"\(Self.digest)\", actions: [cut]"), line: 7, containing: "has no scope")
        expectConfigError(appliance("token: \"\(Self.digest)\", actions: [shutdown]"), line: 7, containing: "an action must be one of cut, block, read_flows, read_stats, reload")
        expectConfigError(appliance("token: \"\(Self.digest)\", actions: [cut], networks: [10.0.0.1/8]"), line: 7, containing: "host bits set")
        expectConfigError(appliance("token: \"\(Self.digest)\", actions: [read_stats], certificate_sha256: abc"), line: 7, containing: "64 hex digits")
        expectConfigError(appliance("token: \"\(Self.digest)\", actions: [read_stats], mode: loud"), line: 7, containing: "mode must be one of learning, enforcing")
        expectConfigError(appliance("token: \"\(Self.digest)\", actions: [read_stats], rate: { requests_per_second: 0 }"), line: 7,
                          containing: "requests_per_second must be a number between 0 and 100000")
    }

    @Test func flowsMistakesAreNamed() {
        expectConfigError(Self.head + "flows:\n  capacity: 3\n", line: 6, containing: "capacity must be between 16")
        expectConfigError(Self.head + "flows:\n  idle_timeout: 0s\n", line: 6, containing: "idle_timeout must be a duration between 1s and 1d")
        expectConfigError(Self.head + "flows:\n  track: maybe\n", line: 6, containing: "track must be one of auto, on, off")
    }

    @Test func aValidControlSectionParses() throws {
        let yaml = Self.head + """
            control:
              audit: log/audit.jsonl
              cuts: { default_ttl: 10m, max_ttl: 1d, escalation_window: 500ms, nftables_table: tap7, block: off }
            flows: { track: on, capacity: 1024, idle_timeout: 30s }
            """
        let config = try SidetapConfig.parse(yaml, file: "t.yaml", baseDirectory: "/base")
        #expect(config.control.auditPath == "/base/log/audit.jsonl")
        #expect(config.control.cuts.defaultTTL == 600 && config.control.cuts.maximumTTL == 86_400)
        #expect(config.control.cuts.escalationWindow == .milliseconds(500))
        #expect(config.control.nftablesTable == "tap7" && !config.control.blockEnabled && config.control.resetEnabled)
        #expect(config.flows.track == .on && config.flows.settings.capacity == 1024)
        #expect(config.flows.settings.idleTimeoutNanos == 30_000_000_000)
        #expect(config.flows.tracks(live: false))
    }

    @Test func reloadReplacesAppliancesAndRefusesABrokenFile() async throws {
        let dir = TestSupport.temporaryDirectory("reload")
        defer { TestSupport.cleanup(dir) }
        _ = try TestCertificates(in: dir)
        try "accept any\n".write(toFile: dir + "/r.rules", atomically: true, encoding: .utf8)
        func write(_ appliances: String) throws {
            let yaml = Self.head + "control:\n  audit: audit.jsonl\n  listen: 127.0.0.1:18999\n  tls: { certificate: server.pem, key: server.key }\n" + appliances
            try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        }
        try write("")
        let running = try SidetapConfig.load(path: dir + "/c.yaml")
        let holder = AccessHolder(try AccessPolicy(appliances: running.control.appliances))
        let reload = ControlReload(path: dir + "/c.yaml", running: PipelineSignature(running), access: holder, engine: nil)

        let same = await reload()
        #expect(same.applied && same.message.contains("(0)") && !same.message.contains("differ"), "\(same)")

        try write("  appliances:\n    - { name: ids, token: \"\(Self.digest)\", actions: [read_stats] }\n")
        let added = await reload()
        #expect(added.applied && added.message.contains("(1)"), "\(added)")
        #expect(holder.current.appliances.map(\.name) == ["ids"])
        if case .success(let appliance) = holder.current.authenticate(authorization: "Bearer stp_test") {
            #expect(appliance.name == "ids")
        } else {
            Issue.record("the reloaded token does not authenticate")
        }

        try write("  appliances:\n    - { name: ids, token: broken, actions: [read_stats] }\n")
        let broken = await reload()
        #expect(!broken.applied && broken.message.contains("running configuration stays"))
        #expect(broken.errors.contains { $0.contains("c.yaml:") && $0.contains("token") }, "\(broken.errors)")
        #expect(holder.current.appliances.map(\.name) == ["ids"], "a broken file changed the running policy")

        try (Self.head.replacingOccurrences(of: "kind: discard", with: "kind: discard, slice: 64")
             + "control:\n  audit: audit.jsonl\n  listen: 127.0.0.1:18999\n  tls: { certificate: server.pem, key: server.key }\n")
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let changedPort = await reload()
        #expect(changedPort.applied && changedPort.message.contains("take effect at the next start"), "\(changedPort)")
        #expect(holder.current.appliances.isEmpty)
    }

    @Test func stateChangesBecomeEvents() {
        var tracker = StateEventService.Tracker()
        func stats(problem: String?, writeErrors: UInt64) -> EngineStatistics {
            EngineStatistics(
                sources: [.init(name: "web01", guest: nil, packets: 1, bytes: 1, decodeIncomplete: 0, kernelDropped: 0, errors: 0,
                                problem: problem, finished: false)],
                ports: [.init(name: "ids", kind: "vxlan", received: 1, selected: 1, sent: 1, sentBytes: 1, droppedRingFull: 0,
                              droppedRateLimit: 0, droppedWriteError: writeErrors, queued: 0, lastError: writeErrors > 0 ? "sendto: Network is unreachable" : nil)],
                elapsedNanos: 0)
        }
        #expect(tracker.changes(stats(problem: nil, writeErrors: 0)).isEmpty, "the first look reports nothing")
        #expect(tracker.changes(stats(problem: nil, writeErrors: 0)).isEmpty)
        let gone = tracker.changes(stats(problem: "interface vnet0 is gone; waiting for it", writeErrors: 3))
        #expect(gone.map { "\($0.kind) \($0.subject) \($0.event)" } == ["source web01 failing", "port ids failing"])
        #expect(gone.last?.detail.contains("Network is unreachable") == true)
        #expect(tracker.changes(stats(problem: "interface vnet0 is gone; waiting for it", writeErrors: 5)).isEmpty, "still failing: no new event")
        let back = tracker.changes(stats(problem: nil, writeErrors: 5))
        #expect(back.map { "\($0.kind) \($0.subject) \($0.event)" } == ["source web01 capturing", "port ids ok"])
    }
}
