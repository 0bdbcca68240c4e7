import Foundation
import SidetapTestKit
import Testing

/// A tapped network for cut tests: a client and a server namespace joined by a bridge in a
/// third "tap" namespace where Sidetap runs (captures on the bridge, injects RSTs there, owns
/// its nftables tables there). Real TCP connections are held open by small Python programs
/// that log what happens to them. Everything is named by the lab and removed on cleanup.
final class CutLab: @unchecked Sendable {
    let lab: NamespaceLab
    let directory: String
    let clientAddress: String
    let serverAddress: String
    let subnet: String
    private var helpers: [ChildProcess] = []
    private var sidetap: ChildProcess?

    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    init(octet: Int) throws {
        lab = try NamespaceLab()
        directory = TestSupport.temporaryDirectory("cut")
        subnet = "10.77.\(octet).0/24"
        clientAddress = "10.77.\(octet).1"
        serverAddress = "10.77.\(octet).2"
        for name in ["c", "s", "t"] { try lab.addNamespace(name) }
        try lab.addVeth("eth0", in: "c", "vc", in: "t")
        try lab.addVeth("eth0", in: "s", "vs", in: "t")
        let t = lab.namespace("t")
        try lab.ip(["-n", t, "link", "add", "br0", "type", "bridge"])
        try lab.ip(["-n", t, "link", "set", "vc", "master", "br0"])
        try lab.ip(["-n", t, "link", "set", "vs", "master", "br0"])
        try lab.ip(["-n", t, "link", "set", "br0", "up"])
        try lab.address("\(clientAddress)/24", on: "eth0", in: "c")
        try lab.address("\(serverAddress)/24", on: "eth0", in: "s")
        try Self.server.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        try Self.client.write(toFile: directory + "/client.py", atomically: true, encoding: .utf8)
        try Self.connectOnce.write(toFile: directory + "/connect.py", atomically: true, encoding: .utf8)
    }

    /// Kills what the lab started (by process id), removes namespaces and files.
    func cleanup() {
        sidetap?.kill()
        for process in helpers { process.kill() }
        lab.cleanup()
        TestSupport.cleanup(directory)
    }

    /// Starts a program inside a lab namespace, its output into `log` in the lab directory.
    @discardableResult
    func start(in namespace: String, _ command: [String], log: String) throws -> ChildProcess {
        let process = try lab.spawn(in: namespace, command, output: directory + "/" + log)
        helpers.append(process)
        return process
    }

    func startServer() throws {
        try start(in: "s", [Self.python, "-u", directory + "/server.py", serverAddress, directory + "/server.log"], log: "server.out")
    }

    /// Starts a client holding one connection from `port`, pinging once a second for `seconds`.
    func startClient(port: Int, seconds: Int) throws {
        try start(in: "c", [Self.python, "-u", directory + "/client.py", clientAddress, serverAddress, directory + "/client-\(port).log",
                            "\(port)", "\(seconds)"], log: "client-\(port).out")
    }

    /// Tries one new connection to the server; true when it was established within a second.
    func connects(fromPort port: Int = 0) throws -> Bool {
        let result = try lab.exec(in: "c", [Self.python, directory + "/connect.py", clientAddress, serverAddress, "\(port)"], timeout: 10)
        return result.stdout.contains("connected")
    }

    func log(_ name: String) -> String {
        (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
    }

    /// Waits until `condition` holds or `seconds` pass; returns whether it held.
    func wait(seconds: Double, _ condition: () -> Bool) -> Bool { eventually(seconds, condition) }

    /// Starts `sidetap run` in the tap namespace.
    func startSidetap(config: String) throws {
        sidetap = try start(in: "t", [TestSupport.sidetapExecutable, "run", config, "--status", "off", "--log-level", "info"],
                            log: "sidetap.log")
    }

    /// SIGINT (a clean shutdown) and the exit status.
    func stopSidetap() -> Int32? {
        guard let sidetap else { return nil }
        kill(sidetap.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(20)
        while sidetap.isRunning && Date() < deadline { usleep(50_000) }
        if sidetap.isRunning { return nil }
        return sidetap.terminationStatus
    }

    /// `sidetap ARGS` inside the tap namespace (where the TLS listener is).
    func sidetapInTap(_ arguments: [String]) throws -> ExternalTool.Output {
        try lab.exec(in: "t", [TestSupport.sidetapExecutable] + arguments, timeout: 30)
    }

    static let server = """
        import socket, sys, threading
        log = open(sys.argv[2], 'a', buffering=1)
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((sys.argv[1], 8080))
        srv.listen(64)
        def handle(c, peer):
            try:
                c.sendall(b'hello\\n')
                while True:
                    d = c.recv(4096)
                    if not d:
                        log.write('closed %d\\n' % peer[1]); return
                    c.sendall(d)
            except ConnectionResetError:
                log.write('RESET %d\\n' % peer[1])
            except Exception as e:
                log.write('error %d %r\\n' % (peer[1], e))
        while True:
            c, peer = srv.accept()
            log.write('accepted %d\\n' % peer[1])
            threading.Thread(target=handle, args=(c, peer), daemon=True).start()
        """

    static let client = """
        import socket, sys, time
        log = open(sys.argv[3], 'a', buffering=1)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[1], int(sys.argv[4])))
        s.settimeout(5)
        s.connect((sys.argv[2], 8080))
        s.recv(100)
        log.write('connected\\n')
        end = time.time() + float(sys.argv[5])
        try:
            while time.time() < end:
                s.sendall(b'ping\\n')
                if not s.recv(100):
                    log.write('closed\\n'); sys.exit(0)
                log.write('pong\\n')
                time.sleep(1)
            log.write('done\\n')
        except (ConnectionResetError, BrokenPipeError):
            log.write('RESET\\n')
        except Exception as e:
            log.write('error %r\\n' % e)
        """

    static let connectOnce = """
        import socket, sys
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[1], int(sys.argv[3])))
        s.settimeout(1)
        try:
            s.connect((sys.argv[2], 8080))
            s.recv(100)
            print('connected')
        except Exception as e:
            print('failed %r' % e)
        """
}
