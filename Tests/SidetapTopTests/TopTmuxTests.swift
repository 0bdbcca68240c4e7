import Foundation
import SidetapTestKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `sidetap top` as a user sees it: in a tmux pane (120×40) against a real `sidetap run`
/// capturing pings on a veth pair in namespaces the test creates (10.77.75.0/24). The pane's
/// text is read with `capture-pane`; keys go in with `send-keys`.
@Suite(.serialized) struct TopTmuxTests {
    static var sidetap: String {
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent("sidetap").path, TestPaths.repositoryRoot + "/.build/debug/sidetap"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return TestPaths.repositoryRoot + "/.build/debug/sidetap"
    }

    static let tmuxPath = ["/usr/bin/tmux", "/bin/tmux", "/usr/local/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let ping = ["/usr/bin/ping", "/bin/ping"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ping"

    /// A tmux server of its own (`-L`), no user config, panes kept after their program exits.
    final class Tmux {
        let tmux: String
        let socketName: String
        let configuration: String

        init(socketName: String, directory: String) throws {
            guard let tmux = TopTmuxTests.tmuxPath else { throw TestError("tmux is not installed (scripts/install-deps.sh installs it)") }
            self.tmux = tmux
            self.socketName = socketName
            configuration = directory + "/tmux.conf"
            try "set -g remain-on-exit on\nset -g status off\n".write(toFile: configuration, atomically: true, encoding: .utf8)
        }

        /// `tmux -L NAME -f CONF ARGS` (the configuration is read when the server starts). The
        /// output goes through a file, not a pipe: the server that `new-session` starts keeps the
        /// client's descriptors, so a pipe would never reach its end. A `ChildProcess`
        /// (posix_spawn, waitpid on its pid) rather than Foundation's Process, whose exit
        /// monitor did not see the `new-session` client end.
        @discardableResult
        func run(_ arguments: [String], check: Bool = true) throws -> String {
            let output = configuration + ".out-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: output) }
            // Spawned with an empty signal mask (`ChildProcess`): a server that inherited the
            // test runner's blocked signals outlived `kill-server` with its pane.
            let child = try ChildProcess([tmux, "-L", socketName, "-f", configuration] + arguments,
                                         standardOutput: .file(output), standardError: .standardOutput)
            let deadline = Date().addingTimeInterval(30)
            while child.isRunning, Date() < deadline { usleep(10_000) }
            if child.isRunning {
                child.wait(atMost: 0)
                throw TestError("tmux \(arguments.joined(separator: " ")): no exit within 30 s")
            }
            let status = child.exitStatus ?? -1
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if check && status > 0 {   // -1: reaped elsewhere, status unknown
                throw TestError("tmux \(arguments.joined(separator: " ")): exit \(status): \(text)")
            }
            return text
        }

        func capture() -> String { (try? run(["capture-pane", "-p", "-t", "top"])) ?? "" }

        func format(_ format: String) -> String {
            ((try? run(["display-message", "-p", "-t", "top", format])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func kill() { _ = try? run(["kill-server"], check: false) }
    }

    struct TestError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    static func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    /// The whitespace-separated cells of the first line of `screen` starting with `name `.
    static func row(_ screen: String, _ name: String) -> [String]? {
        screen.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map { $0.split(separator: " ").map(String.init) }
    }

    /// True for a rate cell that shows traffic ("12", "1.5k"), false for "-", "0" and "0.0".
    static func nonZero(_ cell: String?) -> Bool {
        guard let cell, cell != "-" else { return false }
        return cell.contains { $0.isNumber && $0 != "0" }
    }

    @Test(.timeLimit(.minutes(5))) func liveViewShowsTrafficAndCutsAndExitsCleanly() throws {
        let lab = try NamespaceLab()
        let directory = NSTemporaryDirectory() + "sidetap-top-\(lab.prefix)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tmux = try Tmux(socketName: "sttop-\(lab.prefix)", directory: directory)
        var processes: [ChildProcess] = []
        defer {
            tmux.kill()
            for process in processes { process.kill() }
            lab.cleanup()
            try? FileManager.default.removeItem(atPath: directory)
        }
        func log(_ name: String) -> String { (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? "" }

        try lab.addNamespace("a")
        try lab.addNamespace("b")
        try lab.addVeth("eth0", in: "a", "eth0", in: "b")
        try lab.address("10.77.75.1/24", on: "eth0", in: "a")
        try lab.address("10.77.75.2/24", on: "eth0", in: "b")
        let socket = directory + "/control.sock"
        try "accept any\n".write(toFile: directory + "/all.rules", atomically: true, encoding: .utf8)
        try "accept icmp\n".write(toFile: directory + "/icmp.rules", atomically: true, encoding: .utf8)
        let config = """
            sources:
              - { name: wire, interface: eth0, guest: pinger, immediate: true }
            ports:
              - { name: mirror, kind: discard, rules: all.rules }
              - { name: icmp-copy, kind: file, path: icmp.pcap, rules: icmp.rules }
            options: { control_socket: \(socket), status: off }
            control:
              audit: audit.jsonl
              cuts: { default_ttl: 60, nftables_table: st\(lab.prefix.dropFirst(2)) }
            """
        try config.write(toFile: directory + "/sidetap.yaml", atomically: true, encoding: .utf8)
        let daemon = try lab.spawn(in: "a", [Self.sidetap, "run", directory + "/sidetap.yaml", "--status", "off"], output: directory + "/sidetap.log")
        processes.append(daemon)
        #expect(Self.wait(seconds: 60) { (try? ExternalTool.run(Self.sidetap, ["ctl", "health", "--socket", socket], timeout: 10).succeeded) == true },
                "sidetap run did not answer on its control socket: \(log("sidetap.log"))")
        // Bounded traffic: 50 pings a second for at most 100 s.
        processes.append(try lab.spawn(in: "a", [Self.ping, "-n", "-q", "-i", "0.02", "-c", "5000", "10.77.75.2"]))

        // The pane runs top, then records top's exit status and the terminal settings, stays a
        // moment (so the test can read the cursor state of a live pane) and exits with top's
        // status. (tmux 3.3's #{pane_dead_status} stays empty here, so the shell records it.)
        let command = "\(Self.sidetap) top --socket \(socket); s=$?; echo $s > \(directory)/status-$RUN.txt; "
            + "stty -a > \(directory)/stty.tmp; mv \(directory)/stty.tmp \(directory)/stty-$RUN.txt; "
            + "sleep 3; exit $s"
        func start(_ run: Int) throws {
            let shell = "RUN=\(run); " + command
            if run == 1 {
                try tmux.run(["new-session", "-d", "-s", "top", "-x", "120", "-y", "40", "sh", "-c", shell])
            } else {
                try tmux.run(["respawn-pane", "-t", "top", "sh", "-c", shell])
            }
        }
        /// After top ended: the screen and the terminal settings are back; then top's status.
        func exited(_ run: Int) -> String? {
            #expect(Self.wait(seconds: 30) { !log("stty-\(run).txt").isEmpty }, "run \(run): top did not exit: \(tmux.capture())")
            #expect(tmux.format("#{alternate_on}") == "0", "run \(run): still on the alternate screen")
            #expect(tmux.format("#{cursor_flag}") == "1", "run \(run): the cursor is still hidden")
            let flags = Set(log("stty-\(run).txt").split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
            #expect(flags.isSuperset(of: ["icanon", "isig", "echo", "ixon", "icrnl"]), "run \(run): terminal not restored: \(flags.sorted())")
            #expect(Self.wait(seconds: 30) { tmux.format("#{pane_dead}") == "1" }, "run \(run): the pane's shell did not end")
            let status = log("status-\(run).txt").trimmingCharacters(in: .whitespacesAndNewlines)
            return status.isEmpty ? nil : status
        }

        // Run 1: sources and ports with rates, a cut in the recent-cuts table, then q.
        try start(1)
        var screen = ""
        let flowing = Self.wait(seconds: 60) {
            screen = tmux.capture()
            return Self.nonZero(Self.row(screen, "wire")?[safe: 2]) && Self.nonZero(Self.row(screen, "mirror")?[safe: 2])
                && Self.nonZero(Self.row(screen, "icmp-copy")?[safe: 2])
        }
        #expect(flowing, "no rates on screen:\n\(screen)\n\(log("sidetap.log"))")
        #expect(screen.contains("sidetap top  unix:\(socket)"))
        #expect(screen.contains("\nconnected\n"))
        #expect(Self.row(screen, "wire")?[safe: 1] == "pinger")
        #expect(Self.row(screen, "mirror")?[safe: 1] == "discard")
        #expect(screen.split(separator: "\n").allSatisfy { $0.count <= 120 })
        #expect(tmux.format("#{alternate_on}") == "1")
        #expect(tmux.format("#{cursor_flag}") == "0")

        let cut = try ExternalTool.run(Self.sidetap, ["ctl", "cut", "--socket", socket, "--network", "10.77.75.2", "--method", "block",
                                                      "--ttl", "30", "--reason", "top test"])
        #expect(cut.succeeded, "ctl cut: \(cut.stderr)")
        let id = String(cut.stdout.prefix { $0 != " " })
        #expect(id.hasPrefix("cut-"), "\(cut.stdout)")
        let shown = Self.wait(seconds: 30) {
            screen = tmux.capture()
            guard let row = Self.row(screen, id) else { return false }
            return row[safe: 1] == "block" && row.contains("10.77.75.2/32") && row.contains("admin") && row.contains("active")
        }
        #expect(shown, "cut \(id) not in the recent cuts:\n\(screen)")
        #expect(screen.contains("cuts 1 (1 active)"))
        // s changes the order, p pauses: both show in the key line.
        try tmux.run(["send-keys", "-t", "top", "s"])
        #expect(Self.wait(seconds: 10) { tmux.capture().contains("s sort (rate)") })
        try tmux.run(["send-keys", "-t", "top", "p"])
        #expect(Self.wait(seconds: 10) { tmux.capture().contains("PAUSED") })
        try tmux.run(["send-keys", "-t", "top", "q"])
        #expect(exited(1) == "0", "q: \(tmux.capture())")

        // Run 2: Ctrl-C (a byte in raw mode).
        try start(2)
        #expect(Self.wait(seconds: 30) { Self.nonZero(Self.row(tmux.capture(), "wire")?[safe: 3]) || tmux.capture().contains(id) })
        try tmux.run(["send-keys", "-t", "top", "C-c"])
        #expect(exited(2) == "0", "Ctrl-C: \(tmux.capture())")

        // Run 3: the daemon goes away (shown, retried), then SIGINT to top itself.
        try start(3)
        #expect(Self.wait(seconds: 30) { tmux.capture().contains("\nconnected\n") })
        daemon.kill()
        #expect(Self.wait(seconds: 30) { tmux.capture().contains("CONNECTION LOST since") }, "\(tmux.capture())")
        let shellPid = tmux.format("#{pane_pid}")
        let children = try ExternalTool.run("/usr/bin/pgrep", ["-P", shellPid, "-f", "top --socket"]).stdout
        let topPid = try #require(Int32(children.split(separator: "\n").first ?? ""), "no top process under \(shellPid)")
        Glibc.kill(topPid, SIGINT)
        #expect(exited(3) == "0", "SIGINT: \(tmux.capture())")
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
