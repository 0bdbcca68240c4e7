import Foundation
import SidetapCapture
import SidetapDaemon
import SidetapPcap
import SidetapTestKit
import Testing

/// Interface sources in the config: their keys and errors, the overflow policy they force,
/// what `check` says about them, and `sidetap run` capturing a live interface into a file.
@Suite(.serialized) struct LiveConfigTests {
    func expectError(_ sources: String, line: Int, containing text: String, options: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let yaml = "sources:\n" + sources + "\nports:\n  - { name: p, kind: discard, rules: r.rules }\n" + options
        expectConfigError(yaml, line: line, containing: text, sourceLocation: sourceLocation)
    }

    @Test func interfaceSourceParsesWithEveryKey() throws {
        let yaml = """
            sources:
              - name: web01-in
                interface: vnet3
                guest: web01
                direction: out
                snaplen: 128
                buffer: 64MiB
                promisc: false
                immediate: true
                filter: "not port 22"
              - { name: everything, interface: any }
              - { name: file, file: in.pcap }
            ports:
              - { name: p, kind: discard, rules: r.rules }
            """
        let config = try SidetapConfig.parse(yaml, file: "t.yaml", baseDirectory: "/base")
        let live = try #require(config.sources[0].interface)
        #expect(config.sources[0].isLive && config.sources[0].guest == "web01")
        #expect(live.interface == "vnet3" && live.direction == .out && live.snaplen == 128)
        #expect(live.bufferBytes == 64 << 20 && !live.promiscuous && live.immediate && live.filter == "not port 22")
        let any = try #require(config.sources[1].interface)
        #expect(any == LiveInterfaceSettings(interface: "any"))
        #expect(any.direction == .both && any.snaplen == 262_144 && any.bufferBytes == 32 << 20 && any.promiscuous && !any.immediate)
        #expect(!config.sources[2].isLive && config.sources[2].file == "/base/in.pcap")
    }

    @Test func aSourceNeedsExactlyOneOfFileAndInterface() {
        expectError("  - name: s", line: 2, containing: "source 's' needs 'file' (a capture file), 'interface' (a live interface) or 'guest' (a libvirt guest's interfaces)")
        expectError("  - name: s\n    file: a.pcap\n    interface: vnet0", line: 4, containing: "source 's' has both 'file' and 'interface'; give exactly one")
    }

    @Test func keysOfTheOtherKindAreErrors() {
        expectError("  - name: s\n    interface: vnet0\n    reader: mmap", line: 4, containing: "'reader' applies to file sources only")
        expectError("  - name: s\n    file: a.pcap\n    direction: in", line: 4, containing: "'direction' applies to interface sources only")
        expectError("  - name: s\n    file: a.pcap\n    buffer: 8MiB", line: 4, containing: "'buffer' applies to interface sources only")
    }

    @Test func badLiveValuesAreNamed() {
        expectError("  - { name: s, interface: vnet0, direction: up }", line: 2, containing: "direction must be one of in, out, both, got 'up'")
        expectError("  - { name: s, interface: vnet0, buffer: 4KiB }", line: 2, containing: "buffer must be a size between 1MiB and 2GiB")
        expectError("  - { name: s, interface: vnet0, snaplen: 10 }", line: 2, containing: "snaplen must be between 64 and 262144")
        expectError("  - { name: s, interface: vnet0, promisc: maybe }", line: 2, containing: "promisc must be one of true, false")
        expectError("  - { name: s, interface: vnet0, immediate: 1 }", line: 2, containing: "immediate must be one of true, false")
        expectError("  - { name: s, interface: a-very-long-interface0 }", line: 2, containing: "is not a Linux interface name")
        expectError("  - { name: s, interface: \"../eth0\" }", line: 2, containing: "is not a Linux interface name")
        expectError("  - { name: s, interface: \"\" }", line: 2, containing: "interface must be a non-empty string")
        expectError("  - { name: s, interface: vnet0, dirction: in }", line: 2, containing: "did you mean 'direction'?")
    }

    @Test func liveSourcesNeverWaitForAPort() {
        expectError("  - { name: f, file: a.pcap }\n  - { name: s, interface: vnet0 }", line: 3,
                    containing: "options.overflow 'wait' would make interface source 's' wait for a port", options: "options: { overflow: wait }")
        #expect(EngineAssembly.waitsWhenFull(.auto, paced: false, live: false))
        #expect(!EngineAssembly.waitsWhenFull(.auto, paced: false, live: true))
        #expect(!EngineAssembly.waitsWhenFull(.auto, paced: true, live: false))
        #expect(!EngineAssembly.waitsWhenFull(.drop, paced: false, live: false))
        #expect(EngineAssembly.waitsWhenFull(.wait, paced: false, live: false))
    }

    @Test func checkWarnsAboutAMissingInterfaceButPasses() throws {
        let dir = TestSupport.temporaryDirectory("live-check")
        defer { TestSupport.cleanup(dir) }
        try "accept any\n".write(toFile: dir + "/all.rules", atomically: true, encoding: .utf8)
        try """
            sources:
              - { name: gone, interface: stabsent0, guest: web01 }
              - { name: loop, interface: lo, direction: in, immediate: true }
            ports:
              - { name: all, kind: discard, rules: all.rules }
            """.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let report = ConfigCheck.run(path: dir + "/c.yaml")
        #expect(report.ok, "\(report.text)")
        #expect(report.text.contains("  warn source gone: interface stabsent0, absent (EN10MB, snaplen 262144, direction both (in and out handles, merged), buffer 32 MiB, TPACKET_V3, 10 ms blocks, promiscuous, guest web01)"), "\(report.text)")
        #expect(report.text.contains("warning: \(dir)/c.yaml:2:5: source 'gone': interface stabsent0 does not exist now; the source will capture once it appears"))
        #expect(report.text.contains("  ok   source loop: interface lo, present (index 1, up) (EN10MB, snaplen 262144, direction in, buffer 32 MiB, immediate (TPACKET_V2), promiscuous)"), "\(report.text)")
        #expect(report.text.hasSuffix("check passed (1 warning(s))"))
    }

    @Test func sidetapRunCapturesALiveInterfaceIntoAFileLikeTcpdump() throws {
        let lab = try NamespaceLab()
        try lab.addNamespace("guest")
        try lab.addNamespace("peer")
        let guestHost = lab.interface("g0"), peerHost = lab.interface("p0")
        try lab.addVeth("eth0", in: "guest", guestHost, in: nil)
        try lab.addVeth("eth0", in: "peer", peerHost, in: nil)
        try lab.addBridge(lab.interface("br"), members: [guestHost, peerHost])
        try lab.address("10.77.0.1/24", on: "eth0", in: "guest")
        try lab.address("10.77.0.2/24", on: "eth0", in: "peer")

        let dir = TestSupport.temporaryDirectory("live-run")
        defer { TestSupport.cleanup(dir) }
        try "accept any\n".write(toFile: dir + "/all.rules", atomically: true, encoding: .utf8)
        try "accept direction in\n".write(toFile: dir + "/in.rules", atomically: true, encoding: .utf8)
        try """
            sources:
              - { name: web01, interface: \(guestHost), guest: web01 }
            ports:
              - { name: all, kind: file, path: all.pcap, rules: all.rules }
              - { name: sent-by-guest, kind: file, path: in.pcap, rules: in.rules }
            options: { status: off }
            """.write(toFile: dir + "/live.yaml", atomically: true, encoding: .utf8)

        // tcpdump on the same interface, started first.
        let reference = dir + "/tcpdump.pcap"
        let tcpdump = try ChildProcess(["/usr/bin/tcpdump", "-i", guestHost, "-Z", "root", "-U", "-n", "--time-stamp-precision=nano", "-w", reference, "icmp"])
        defer {
            // -U already wrote every packet, so SIGKILL loses nothing.
            tcpdump.signal(SIGKILL)
            tcpdump.wait(atMost: 10)
        }

        // Traffic once sidetap has had time to start; SIGINT after it.
        let traffic = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var pingOutput = ""
        DispatchQueue.global().async {
            usleep(2_000_000)
            pingOutput = (try? lab.exec(in: "guest", ["ping", "-n", "-c", "10", "-i", "0.1", "-W", "2", "10.77.0.2"]).stdout) ?? "ping failed"
            traffic.signal()
        }
        let run = try ExternalTool.run(TestSupport.sidetapExecutable, ["run", dir + "/live.yaml"], directory: dir,
                                       interruptAfter: 5, timeout: 30)
        #expect(traffic.wait(timeout: .now() + 10) == .success)
        #expect(pingOutput.contains("10 received"), "\(pingOutput)")
        #expect(run.status == 0, "sidetap run: \(run.stderr)")

        let ours = try TestSupport.tcpdumpDump(dir + "/all.pcap", expression: "icmp")
        let theirs = try TestSupport.tcpdumpDump(reference)
        #expect(ours.filter { $0.contains("ICMP echo") }.count == 20)
        #expect(ours == theirs, "bytes and nanosecond timestamps of every ICMP packet")
        let sentByGuest = try TestSupport.tcpdumpDump(dir + "/in.pcap", expression: "icmp").filter { $0.contains("ICMP echo") }
        #expect(sentByGuest.count == 10)
        #expect(sentByGuest.allSatisfy { $0.contains("10.77.0.1 > 10.77.0.2: ICMP echo request") })
    }
}
