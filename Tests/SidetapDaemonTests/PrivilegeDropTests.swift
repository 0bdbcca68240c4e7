import Foundation
import SidetapDaemon
import SidetapTestKit
import Testing

/// Issue 5, least privilege: the real `sidetap run --user nobody`, every thread of it read
/// from /proc/PID/task/*/status while it runs. Needs root (CI runs as root).
@Suite(.serialized) struct PrivilegeDropTests {
    static let nobody = UInt32(65534)

    /// Namespaces named `stpriv<hex>-NAME`, removed by name on cleanup.
    final class Lab {
        let prefix = "stpriv" + String(UInt16.random(in: 0...0xFFFF), radix: 16)
        let directory = TestSupport.temporaryDirectory("privilege")
        private var namespaces: [String] = []
        private var processes: [Process] = []

        static let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"

        func namespace(_ name: String) -> String { "\(prefix)-\(name)" }

        @discardableResult
        func ip(_ arguments: [String]) throws -> String {
            let result = try ExternalTool.run(Self.ip, arguments, timeout: 30)
            guard result.succeeded else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
            return result.stdout
        }

        func addNamespace(_ name: String) throws {
            try ip(["netns", "add", namespace(name)])
            namespaces.append(namespace(name))
            try ip(["-n", namespace(name), "link", "set", "lo", "up"])
        }

        /// `v0` (10.77.72.1/24) in `cap`, `eth0` (10.77.72.2/24) in `peer`, both up.
        func addVeth() throws {
            try ip(["link", "add", "name", "v0", "netns", namespace("cap"), "type", "veth", "peer", "name", "eth0", "netns", namespace("peer")])
            try ip(["-n", namespace("cap"), "addr", "add", "10.77.72.1/24", "dev", "v0"])
            try ip(["-n", namespace("peer"), "addr", "add", "10.77.72.2/24", "dev", "eth0"])
            try ip(["-n", namespace("cap"), "link", "set", "v0", "up"])
            try ip(["-n", namespace("peer"), "link", "set", "eth0", "up"])
        }

        /// `sidetap run --user nobody CONFIG` (inside namespace `inside` when given), output
        /// to `sidetap.log`. `ip netns exec` executes Sidetap in place, so the pid is Sidetap's.
        /// A file job that runs about a minute: 600 packets through a port shaped to 10 packets/s
        /// behind a 64-slot ring, so the source waits for the port. Writes `c.yaml` with the
        /// control section's `cuts: { CUTS }`; returns the control socket's path.
        func writeSlowFileJob(cuts: String) throws -> String {
            try TestSupport.writeCapture(directory + "/in.pcap", packets: 600)
            try "accept any\n".write(toFile: directory + "/all.rules", atomically: true, encoding: .utf8)
            let socket = directory + "/run/control.sock"
            try """
                sources:
                  - { name: f, file: in.pcap }
                ports:
                  - { name: all, kind: discard, rules: all.rules, rate: { pps: 10, mode: shape } }
                options: { control_socket: \(socket), status: off, ring_slots: 64 }
                control:
                  audit: audit.jsonl
                  cuts: { \(cuts) }
                """.write(toFile: directory + "/c.yaml", atomically: true, encoding: .utf8)
            return socket
        }

        func startSidetap(config: String, inside: String? = nil) throws -> Process {
            let process = Process()
            let command = [TestSupport.sidetapExecutable, "run", config, "--user", "nobody", "--status", "off", "--log-level", "info"]
            if let inside {
                process.executableURL = URL(fileURLWithPath: Self.ip)
                process.arguments = ["netns", "exec", namespace(inside)] + command
            } else {
                process.executableURL = URL(fileURLWithPath: command[0])
                process.arguments = Array(command.dropFirst())
            }
            FileManager.default.createFile(atPath: directory + "/sidetap.log", contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/sidetap.log"))
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
            processes.append(process)
            return process
        }

        var log: String { (try? String(contentsOfFile: directory + "/sidetap.log", encoding: .utf8)) ?? "" }

        func wait(seconds: Double, _ condition: () -> Bool) -> Bool { eventually(seconds, condition) }

        /// Waits until Sidetap says it dropped, then reads every one of its threads.
        func droppedThreads(_ process: Process) throws -> [ThreadCredentials] {
            let dropped = wait(seconds: 120) { log.contains("least privilege: running as") || !process.isRunning }
            guard dropped, process.isRunning else { throw TestFailure("sidetap did not report the drop: \(log)") }
            let threads = try ThreadCredentials.all(pid: process.processIdentifier)
            guard threads.filter({ !$0.hasExited }).count > 1 else { throw TestFailure("only \(threads.count) thread(s) read from /proc/\(process.processIdentifier)") }
            return threads
        }

        /// `sidetap ARGS` as root from the host.
        func sidetap(_ arguments: [String]) throws -> ExternalTool.Output {
            try ExternalTool.run(TestSupport.sidetapExecutable, arguments, timeout: 30)
        }

        /// Packets the source `name` counted, from `sidetap stats --json` on `socket`.
        func packets(source name: String, socket: String) -> UInt64? {
            guard let output = try? sidetap(["stats", "--socket", socket, "--json"]), output.succeeded,
                  let root = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
                  let sources = root["sources"] as? [[String: Any]],
                  let source = sources.first(where: { $0["name"] as? String == name }) else { return nil }
            return (source["packets"] as? NSNumber)?.uint64Value
        }

        func cleanup() {
            for process in processes where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            for space in namespaces.reversed() {
                _ = try? ExternalTool.run(Self.ip, ["netns", "del", space], timeout: 10)
            }
            TestSupport.cleanup(directory)
        }
    }

    /// Every thread runs as nobody with exactly `kept`: nothing inheritable or ambient,
    /// permitted = effective = kept, bounding set within kept, no_new_privs.
    static func expectEveryThread(_ threads: [ThreadCredentials], kept: CapabilitySet, sourceLocation: SourceLocation = #_sourceLocation) {
        let running = threads.filter { !$0.hasExited }
        #expect(running.count > 1, "threads: \(threads)", sourceLocation: sourceLocation)
        // Only the main thread may have ended (dispatch_main ends it; the process lives on).
        #expect(threads.filter(\.hasExited).allSatisfy { thread in threads.allSatisfy { thread.thread <= $0.thread } },
                "\(threads.filter(\.hasExited))", sourceLocation: sourceLocation)
        for thread in running {
            #expect(thread.uids == [nobody, nobody, nobody, nobody], "\(thread)", sourceLocation: sourceLocation)
            #expect(thread.gids == [nobody, nobody, nobody, nobody], "\(thread)", sourceLocation: sourceLocation)
            #expect(thread.inheritable == .none, "\(thread)", sourceLocation: sourceLocation)
            #expect(thread.ambient == .none, "\(thread)", sourceLocation: sourceLocation)
            #expect(thread.permitted == kept, "\(thread)", sourceLocation: sourceLocation)
            #expect(thread.effective == kept, "\(thread)", sourceLocation: sourceLocation)
            #expect(thread.bounding == kept, "\(thread)", sourceLocation: sourceLocation)
            #expect(thread.noNewPrivileges, "\(thread)", sourceLocation: sourceLocation)
        }
    }

    static func owner(_ path: String) -> UInt32? {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.ownerAccountID] as? NSNumber)?.uint32Value
    }

    @Test(.timeLimit(.minutes(4))) func fileSourcesRunWithoutAnyCapability() throws {
        let lab = Lab()
        defer { lab.cleanup() }
        let dir = lab.directory
        let socket = try lab.writeSlowFileJob(cuts: "reset: off, block: off")
        let process = try lab.startSidetap(config: dir + "/c.yaml")
        let threads = try lab.droppedThreads(process)
        Self.expectEveryThread(threads, kept: .none)
        #expect(lab.log.contains("running as nobody") && lab.log.contains("keeping no capability"), "\(lab.log)")
        // What Sidetap created belongs to the user; the control socket still answers.
        #expect(Self.owner(socket) == Self.nobody)
        #expect(Self.owner(dir + "/run") == Self.nobody)
        #expect(Self.owner(dir + "/audit.jsonl") == Self.nobody)
        #expect(lab.packets(source: "f", socket: socket) != nil, "stats over the control socket after the drop")
    }

    @Test(.timeLimit(.minutes(5))) func liveSourcesKeepNetRawAndReopenAReturningInterface() throws {
        let lab = Lab()
        defer { lab.cleanup() }
        let dir = lab.directory
        try lab.addNamespace("cap")
        try lab.addNamespace("peer")
        try lab.addVeth()
        try "accept any\n".write(toFile: dir + "/all.rules", atomically: true, encoding: .utf8)
        let socket = dir + "/run/control.sock"
        try """
            sources:
              - { name: live, interface: v0, immediate: true }
            ports:
              - { name: all, kind: discard, rules: all.rules }
            options: { control_socket: \(socket), status: off }
            control:
              audit: audit.jsonl
              cuts: { block: off }
            """.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let process = try lab.startSidetap(config: dir + "/c.yaml", inside: "cap")
        let threads = try lab.droppedThreads(process)
        Self.expectEveryThread(threads, kept: CapabilitySet([.netRaw]))
        #expect(lab.log.contains("keeping CAP_NET_RAW because live source(s) live re-open"), "\(lab.log)")

        func ping() { _ = try? ExternalTool.run(Lab.ip, ["netns", "exec", lab.namespace("peer"), "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.77.72.1"], timeout: 10) }
        ping()
        #expect(lab.wait(seconds: 30) { (lab.packets(source: "live", socket: socket) ?? 0) > 0 }, "no packets before the interface went away")

        // The interface goes away and comes back (a guest restarted): capture resumes as nobody.
        try lab.ip(["-n", lab.namespace("cap"), "link", "del", "v0"])
        usleep(500_000)
        let before = lab.packets(source: "live", socket: socket) ?? 0
        try lab.addVeth()
        let resumed = lab.wait(seconds: 90) {
            ping()
            return (lab.packets(source: "live", socket: socket) ?? 0) > before
        }
        #expect(resumed, "capture did not resume after the interface returned: \(lab.log)")
        #expect(process.isRunning)
        // Still dropped after the re-open.
        Self.expectEveryThread(try ThreadCredentials.all(pid: process.processIdentifier), kept: CapabilitySet([.netRaw]))
    }

    @Test(.timeLimit(.minutes(4))) func blockCutsKeepNetAdminAndStillReachNftables() throws {
        let lab = Lab()
        defer { lab.cleanup() }
        let dir = lab.directory
        try lab.addNamespace("blk")
        let socket = try lab.writeSlowFileJob(cuts: "reset: off, nftables_table: stpriv")
        let process = try lab.startSidetap(config: dir + "/c.yaml", inside: "blk")
        let threads = try lab.droppedThreads(process)
        Self.expectEveryThread(threads, kept: CapabilitySet([.netAdmin]))
        #expect(lab.log.contains("keeping CAP_NET_ADMIN because block cuts"), "\(lab.log)")

        let cut = try lab.sidetap(["ctl", "cut", "--socket", socket, "--network", "10.77.72.9/32", "--method", "block",
                                   "--ttl", "60", "--reason", "privilege test"])
        #expect(cut.succeeded, "ctl cut: \(cut.stdout) \(cut.stderr) \(lab.log)")
        let listing = try ExternalTool.run(Lab.ip, ["netns", "exec", lab.namespace("blk"), "nft", "list", "set", "inet", "stpriv", "net4"], timeout: 10)
        #expect(listing.succeeded, "\(listing.stderr)")
        #expect(listing.stdout.contains("10.77.72.9"), "\(listing.stdout)")
        // Listing and lifting go through libnftables as nobody too.
        let cuts = try lab.sidetap(["ctl", "cuts", "--socket", socket])
        #expect(cuts.succeeded && cuts.stdout.contains("10.77.72.9"), "\(cuts.stdout) \(cuts.stderr)")
    }
}
