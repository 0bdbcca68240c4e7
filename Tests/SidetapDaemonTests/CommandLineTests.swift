import Foundation
import SidetapCore
import SidetapTestKit
import Testing

/// The `sidetap` executable as a user runs it: the embedded default job, `check`, `replay`
/// pacing, and a clean shutdown on SIGINT.
@Suite(.serialized) struct CommandLineTests {
    let sidetap = TestSupport.sidetapExecutable

    @Test func embeddedDefaultJobRunsAndWritesReadableCaptures() throws {
        let dir = TestSupport.temporaryDirectory("default")
        defer { TestSupport.cleanup(dir) }
        let result = try ExternalTool.run(sidetap, ["run", "--output", dir + "/out"], directory: TestSupport.repositoryRoot)
        #expect(result.status == 0, "\(result.stderr)")
        for port in ["waf", "ids", "archive", "east-west", "discard"] {
            #expect(result.stderr.contains("\n  \(port) "), "summary lacks port \(port)")
        }
        #expect(result.stderr.contains("sidetap: packets=2000 "))
        // The status line is off when stderr is not a terminal.
        #expect(!result.stderr.contains("\r"))
        #expect(try TestSupport.tcpdumpCount(dir + "/out/waf.pcapng") > 0)
        #expect(try TestSupport.tcpdumpCount(dir + "/out/ids.pcap") > 0)
        #expect(try TestSupport.tcpdumpCount(dir + "/out/east-west.pcap") > 0)
        let archiveDirectory = try FileManager.default.contentsOfDirectory(atPath: dir + "/out/archive")
        let archives = archiveDirectory.filter { $0 != "archive.manifest" }
        #expect(archiveDirectory.contains("archive.manifest"), "file ports keep a manifest by default: \(archiveDirectory)")
        #expect(archives.count == 4, "keep: 4 leaves the newest four archive files, got \(archives)")
        #expect(archives.allSatisfy { $0.hasPrefix("archive-") && $0.hasSuffix(".pcapng") })
        let evidence = try ExternalTool.run(sidetap, ["evidence", "verify", dir + "/out/archive"])
        #expect(evidence.status == 0, "\(evidence.stdout)")
        // The sample capture is deterministic: a second run writes the same bytes.
        let first = try Data(contentsOf: URL(fileURLWithPath: dir + "/out/sample.pcap"))
        _ = try ExternalTool.run(sidetap, ["run", "--output", dir + "/again"], directory: TestSupport.repositoryRoot)
        let second = try Data(contentsOf: URL(fileURLWithPath: dir + "/again/sample.pcap"))
        #expect(first == second)
    }

    @Test func checkPassesAGoodConfigAndNamesEveryProblemOfABadOne() throws {
        let dir = TestSupport.temporaryDirectory("check")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeCapture(dir + "/in.pcap", packets: 50)
        try "accept tcp port 80\n".write(toFile: dir + "/web.rules", atomically: true, encoding: .utf8)
        try "accept udp dport 53\naccept tcp dprot 53\n".write(toFile: dir + "/bad.rules", atomically: true, encoding: .utf8)
        let good = "sources:\n  - { name: in, file: in.pcap }\nports:\n  - { name: web, kind: file, path: out/web.pcap, rules: web.rules }\n"
        try good.write(toFile: dir + "/good.yaml", atomically: true, encoding: .utf8)
        let ok = try ExternalTool.run(sidetap, ["check", dir + "/good.yaml"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("check passed"))
        #expect(ok.stdout.contains("ok   source in:"))
        #expect(ok.stdout.contains("ok   port web: file"))
        // check opens nothing for writing.
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))

        let bad = "sources:\n  - { name: in, file: in.pcap }\nports:\n  - { name: ids, kind: discard, rules: bad.rules }\n"
        try bad.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let failed = try ExternalTool.run(sidetap, ["check", dir + "/bad.yaml"])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("bad.rules:2:"), "\(failed.stdout)")
        #expect(failed.stdout.contains("dprot"))

        let missing = "sources:\n  - { name: in, file: nothere.pcap }\nports:\n  - { name: ids, kind: discard, rules: web.rules }\n"
        try missing.write(toFile: dir + "/missing.yaml", atomically: true, encoding: .utf8)
        let noFile = try ExternalTool.run(sidetap, ["check", dir + "/missing.yaml"])
        #expect(noFile.status == 1)
        #expect(noFile.stdout.contains("missing.yaml:2:"), "\(noFile.stdout)")
        #expect(noFile.stdout.contains("nothere.pcap"))

        try "sources:\n  - { name: in, file: in.pcap, colour: red }\nports: []\n".write(toFile: dir + "/key.yaml", atomically: true, encoding: .utf8)
        let unknown = try ExternalTool.run(sidetap, ["check", dir + "/key.yaml"])
        #expect(unknown.status == 1)
        #expect(unknown.stdout.contains("key.yaml:2:"))
        #expect(unknown.stdout.contains("unknown key 'colour'"))
    }

    @Test func replayAtAFixedRateTakesTheExpectedTime() throws {
        let dir = TestSupport.temporaryDirectory("replay")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 300, port: "name: all, kind: file, path: all.pcap", rules: "accept any\n")
        let started = Date()
        let result = try ExternalTool.run(sidetap, ["replay", dir + "/in.pcap", "--config", dir + "/c.yaml", "--pps", "1000"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        // 300 packets at 1000 pps: 0.3 s of pacing (plus process start-up).
        #expect(elapsed >= 0.29)
        #expect(try TestSupport.tcpdumpCount(dir + "/all.pcap") == 300)
        let conflicting = try ExternalTool.run(sidetap, ["replay", dir + "/in.pcap", "--pps", "10", "--topspeed"])
        #expect(conflicting.status != 0)
        #expect(conflicting.stderr.contains("at most one of"))
    }

    @Test func sigintFlushesClosesAndSummarises() throws {
        let dir = TestSupport.temporaryDirectory("sigint")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 5000, port: "name: all, kind: file, path: out/all.pcapng", rules: "accept any\n")
        // 5000 packets at 500 pps would take 10 s; SIGINT after 1 s.
        let started = Date()
        let result = try ExternalTool.run(sidetap, ["replay", dir + "/in.pcap", "--config", dir + "/c.yaml", "--pps", "500"],
                                         interruptAfter: 1.0, timeout: 30)
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("sidetap: packets="))
        let written = try TestSupport.tcpdumpCount(dir + "/out/all.pcapng")
        #expect(written > 100 && written < 5000, "wrote \(written)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").sorted()
        #expect(files == ["all.manifest", "all.pcapng"], "a temporary file was left: \(files)")
    }

    @Test func aStreamOnStandardOutputWaitsForASlowReaderOffline() throws {
        let dir = TestSupport.temporaryDirectory("pipe")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 4000, port: "name: live, kind: stream, path: \"-\"", rules: "accept tcp\n")
        // The reader starts a second late: the pipe fills and the port must wait, not drop.
        let pipeline = "'\(sidetap)' run '\(dir)/c.yaml' 2>'\(dir)/err' | (sleep 1; tcpdump -r - -w '\(dir)/out.pcap' 2>/dev/null)"
        let result = try ExternalTool.run("/bin/sh", ["-c", pipeline], timeout: 60)
        #expect(result.status == 0)
        let expected = try TestSupport.tcpdumpCount(dir + "/in.pcap", expression: "tcp or (vlan and tcp)")
        #expect(expected > 1000)
        #expect(try TestSupport.tcpdumpCount(dir + "/out.pcap") == expected)
        let summary = try String(contentsOfFile: dir + "/err", encoding: .utf8)
        #expect(summary.contains("sidetap: packets=4000 "), "\(summary)")
    }

    @Test func statsReadsARunningSidetapOverItsControlSocket() throws {
        let dir = TestSupport.temporaryDirectory("stats")
        defer { TestSupport.cleanup(dir) }
        let socket = dir + "/control.sock"
        try TestSupport.writeOnePortJob(dir, packets: 3000, port: "name: web, kind: discard", rules: "accept tcp\n", options: "options: { control_socket: \(socket) }\n")
        // A paced replay keeps Sidetap running for 6 s; stats is read while it runs.
        let daemon = try ChildProcess([sidetap, "replay", dir + "/in.pcap", "--config", dir + "/c.yaml", "--pps", "500"])
        defer { daemon.stop(within: 5) }
        var waited = 0
        while !FileManager.default.fileExists(atPath: socket) && waited < 100 { usleep(50_000); waited += 1 }
        usleep(300_000)
        let table = try ExternalTool.run(sidetap, ["stats", "--socket", socket])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("\n  web "), "\(table.stdout)")
        #expect(table.stdout.contains("sidetap: packets="))
        let json = try ExternalTool.run(sidetap, ["stats", "--socket", socket, "--json"])
        let stats = try JSONDecoder().decode(EngineStatistics.self, from: Data(json.stdout.utf8))
        #expect(stats.ports.map(\.name) == ["web"])
        #expect(stats.sources[0].packets > 0 && stats.sources[0].packets < 3000, "read while the replay runs")
        kill(daemon.processIdentifier, SIGINT)
        daemon.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket outlived the daemon")
        let gone = try ExternalTool.run(sidetap, ["stats", "--socket", socket])
        #expect(gone.status != 0)
        #expect(gone.stderr.contains("is Sidetap running"))
    }

    @Test func statusLineShowsWhenForced() throws {
        let dir = TestSupport.temporaryDirectory("status")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 1500, port: "name: all, kind: discard", rules: "accept any\n")
        let result = try ExternalTool.run(sidetap, ["replay", dir + "/in.pcap", "--config", dir + "/c.yaml", "--pps", "1000", "--status", "on"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("\r\u{1B}[K"))
        #expect(result.stderr.contains("pkts"))
        #expect(result.stderr.contains("all "))
    }
}
