import Foundation
import SidetapCapture
import SidetapDaemon
import SidetapPcap
import SidetapTestKit
import Testing

/// libvirt guest sources in the config (`guest:` without `interface:`): keys, errors, what
/// `check` says, and `sidetap run` following a test-driver guest across a restart.
@Suite(.serialized) struct GuestSourceConfigTests {
    func expectError(_ sources: String, line: Int, containing text: String, options: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let yaml = "sources:\n" + sources + "\nports:\n  - { name: p, kind: discard, rules: r.rules }\n" + options
        expectConfigError(yaml, line: line, containing: text, sourceLocation: sourceLocation)
    }

    @Test func aGuestAloneIsALibvirtSourceWithDefaults() throws {
        let yaml = """
            sources:
              - { name: web, guest: web01 }
              - name: db
                guest: db01
                libvirt: { uri: "test:///default", domain: "db01.example", poll: 500ms }
                direction: in
                buffer: 8MiB
                immediate: true
              - { name: fixed, interface: vnet3, guest: web01 }
            ports:
              - { name: p, kind: discard, rules: r.rules }
            """
        let config = try SidetapConfig.parse(yaml, file: "t.yaml", baseDirectory: "/base")
        let web = try #require(config.sources[0].libvirt)
        #expect(config.sources[0].isLive && config.sources[0].interface == nil && config.sources[0].guest == "web01")
        #expect(web.domain == "web01" && web.uri == "qemu:///system" && web.pollMilliseconds == 2000)
        #expect(web.capture.direction == .both && web.capture.bufferBytes == 32 << 20 && !web.capture.immediate)
        let db = try #require(config.sources[1].libvirt)
        #expect(db.domain == "db01.example" && db.uri == "test:///default" && db.pollMilliseconds == 500)
        #expect(db.capture.direction == .in && db.capture.bufferBytes == 8 << 20 && db.capture.immediate)
        // guest next to interface stays a label on a fixed interface.
        #expect(config.sources[2].libvirt == nil && config.sources[2].interface?.interface == "vnet3" && config.sources[2].guest == "web01")
    }

    @Test func badGuestKeysAreNamed() {
        expectError("  - { name: s, guest: web01, reader: mmap }", line: 2, containing: "'reader' applies to file sources only; source 's' follows guest web01")
        expectError("  - { name: s, interface: vnet0, guest: web01, libvirt: { poll: 1s } }", line: 2,
                    containing: "'libvirt' applies to a source that follows a guest")
        expectError("  - { name: s, file: a.pcap, libvirt: { poll: 1s } }", line: 2, containing: "'libvirt' applies to a source that follows a guest")
        expectError("  - { name: s, guest: web01, libvirt: { poll: 10ms } }", line: 2, containing: "libvirt.poll must be a time between 100ms and 1h")
        expectError("  - { name: s, guest: web01, libvirt: { uri: qemu } }", line: 2, containing: "libvirt.uri must be a libvirt connection URI")
        expectError("  - { name: s, guest: web01, libvirt: { url: \"qemu:///system\" } }", line: 2, containing: "did you mean 'uri'?")
        expectError("  - { name: s, guest: \"web 01\" }", line: 2, containing: "guest name 'web 01' may hold only")
        expectError("  - { name: f, file: a.pcap }\n  - { name: s, guest: web01 }", line: 3,
                    containing: "would make interface source 's' wait for a port", options: "options: { overflow: wait }")
    }

    @Test func checkReportsTheGuestsInterfacesOrThatItIsDown() throws {
        let dir = TestSupport.temporaryDirectory("guest-check")
        defer { TestSupport.cleanup(dir) }
        try "accept guest web01\n".write(toFile: dir + "/web.rules", atomically: true, encoding: .utf8)
        try GuestNode.write(dir + "/node.xml", [("web01", true, ["stvirtdA", "stvirtdB"]), ("db01", false, ["stvirtdC"])])
        try """
            sources:
              - { name: web, guest: web01, libvirt: { uri: "test://\(dir)/node.xml" } }
              - { name: db, guest: db01, libvirt: { uri: "test://\(dir)/node.xml" } }
              - { name: mail, guest: mail01, libvirt: { uri: "test://\(dir)/node.xml", poll: 1m } }
            ports:
              - { name: web, kind: discard, rules: web.rules }
            """.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let report = ConfigCheck.run(path: dir + "/c.yaml")
        #expect(report.ok, "\(report.text)")
        #expect(report.text.contains("  ok   source web: guest web01 on test://\(dir)/node.xml, running, interfaces stvirtdA (absent), stvirtdB (absent) "
            + "(EN10MB, snaplen 262144, direction both, buffer 32 MiB each, TPACKET_V3, 10 ms blocks, promiscuous, looked up every 2.0s)"), "\(report.text)")
        #expect(report.text.contains("  warn source db: guest db01 on test://\(dir)/node.xml, shut off ("), "\(report.text)")
        #expect(report.text.contains("warning: \(dir)/c.yaml:3:5: source 'db': guest db01 on test://\(dir)/node.xml is shut off now; the source will capture its interfaces once it runs"))
        #expect(report.text.contains("  warn source mail: guest mail01 on test://\(dir)/node.xml, not defined ("), "\(report.text)")
        #expect(report.text.contains("looked up every 1m00s"), "\(report.text)")
        #expect(report.text.hasSuffix("check passed (2 warning(s))"), "\(report.text)")
    }

    @Test func checkWarnsWhenLibvirtCannotBeReached() throws {
        let dir = TestSupport.temporaryDirectory("guest-check-down")
        defer { TestSupport.cleanup(dir) }
        try "accept any\n".write(toFile: dir + "/all.rules", atomically: true, encoding: .utf8)
        try """
            sources:
              - { name: web, guest: web01, libvirt: { uri: "test://\(dir)/missing.xml" } }
            ports:
              - { name: all, kind: discard, rules: all.rules }
            """.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let report = ConfigCheck.run(path: dir + "/c.yaml")
        #expect(report.ok, "\(report.text)")
        #expect(report.text.contains("  warn source web: guest web01 on test://\(dir)/missing.xml, not looked up ("), "\(report.text)")
        #expect(report.text.contains("cannot look up guest web01 on test://\(dir)/missing.xml now (connect to test://\(dir)/missing.xml: "), "\(report.text)")
    }

    @Test func sidetapRunFollowsAGuestAcrossARestart() throws {
        let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"
        func run(_ arguments: [String]) throws {
            let result = try ExternalTool.run(ip, arguments, timeout: 30)
            guard result.succeeded else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
        }
        // g1 (.11, host side stvirtdA) and g2 (.12, stvirtdB) ping p (.13, stvirtdP) across a bridge.
        let links = ["stvirtdA", "stvirtdB", "stvirtdP", "stvirtdbr"], spaces = ["stvirtd-g1", "stvirtd-g2", "stvirtd-p"]
        func cleanup() {
            for link in links { _ = try? ExternalTool.run(ip, ["link", "del", link], timeout: 10) }
            for space in spaces { _ = try? ExternalTool.run(ip, ["netns", "del", space], timeout: 10) }
        }
        cleanup()
        defer { cleanup() }
        try run(["link", "add", "stvirtdbr", "type", "bridge"])
        try run(["link", "set", "stvirtdbr", "up"])
        for (i, (space, host)) in zip(spaces, links).enumerated() {
            try run(["netns", "add", space])
            try run(["link", "add", "name", host, "type", "veth", "peer", "name", "eth0", "netns", space])
            try? "1".write(toFile: "/proc/sys/net/ipv6/conf/\(host)/disable_ipv6", atomically: false, encoding: .utf8)
            try run(["link", "set", host, "master", "stvirtdbr"])
            try run(["link", "set", host, "up"])
            try run(["-n", space, "addr", "add", "10.77.76.\(11 + i)/24", "dev", "eth0"])
            try run(["-n", space, "link", "set", "eth0", "up"])
        }
        @Sendable func ping(from space: String) -> String {
            (try? ExternalTool.run(ip, ["netns", "exec", space, "ping", "-n", "-c", "5", "-i", "0.05", "-W", "2", "10.77.76.13"], timeout: 30).stdout) ?? "ping failed"
        }

        let dir = TestSupport.temporaryDirectory("guest-run")
        defer { TestSupport.cleanup(dir) }
        try "accept guest web01\n".write(toFile: dir + "/web.rules", atomically: true, encoding: .utf8)
        try GuestNode.write(dir + "/node.xml", [("web01", true, ["stvirtdA"])])
        try """
            sources:
              - { name: web, guest: web01, libvirt: { uri: "test://\(dir)/node.xml", poll: 200ms }, immediate: true }
            ports:
              - { name: web, kind: file, path: web.pcap, rules: web.rules }
            options: { status: off, control_socket: off }
            control: { audit: audit.jsonl }
            """.write(toFile: dir + "/run.yaml", atomically: true, encoding: .utf8)

        // While sidetap runs: g1 pings (web01 is behind A), web01 restarts behind B, g1 and g2 ping.
        let traffic = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outputs: [String] = []
        DispatchQueue.global().async {
            usleep(3_000_000)
            outputs.append(ping(from: "stvirtd-g1"))
            try? GuestNode.write(dir + "/node.xml", [("web01", true, ["stvirtdB"])])
            usleep(1_500_000)
            outputs.append(ping(from: "stvirtd-g1"))
            outputs.append(ping(from: "stvirtd-g2"))
            traffic.signal()
        }
        let result = try ExternalTool.run(TestSupport.sidetapExecutable, ["run", dir + "/run.yaml"], directory: dir,
                                          interruptAfter: 10, timeout: 40)
        #expect(traffic.wait(timeout: .now() + 20) == .success)
        #expect(outputs.count == 3 && outputs.allSatisfy { $0.contains("5 received") }, "\(outputs)")
        #expect(result.status == 0, "sidetap run: \(result.stderr)")
        #expect(result.stderr.contains("source web: resolved: guest web01: capturing stvirtdA"), "\(result.stderr)")
        #expect(result.stderr.contains("source web: resolved: guest web01: capturing stvirtdB (closed stvirtdA)"), "\(result.stderr)")

        let echoes = try TestSupport.tcpdumpDump(dir + "/web.pcap", expression: "icmp").filter { $0.contains("ICMP echo") }
        let fromG1 = echoes.filter { $0.contains("10.77.76.11") }, fromG2 = echoes.filter { $0.contains("10.77.76.12") }
        #expect(fromG1.count == 10, "g1's first five pings, captured on A; none after the restart")
        #expect(fromG2.count == 10, "g2's five pings, captured on B after the restart")
    }
}

/// Writes a libvirt test-driver node file: (domain, running, interface host devices).
enum GuestNode {
    static func write(_ path: String, _ domains: [(String, Bool, [String])]) throws {
        var xml = "<node>\n"
        for (name, running, targets) in domains {
            xml += "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>\(name)</name>"
                + "<memory>65536</memory><os><type>hvm</type></os>" + (running ? "" : "<test:runstate>5</test:runstate>") + "<devices>"
            for target in targets { xml += "<interface type='ethernet'><target dev='\(target)'/></interface>" }
            xml += "</devices></domain>\n"
        }
        try (xml + "</node>\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
