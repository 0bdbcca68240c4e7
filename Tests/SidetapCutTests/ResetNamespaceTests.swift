import Foundation
import SidetapCore
import SidetapCut
import SidetapFlows
import SidetapPcap
import SidetapTestKit
import Synchronization
import Testing

/// A real TCP connection between two namespaces bridged on the host, captured by Sidetap's
/// flow table and cut with two RSTs: both processes must see "connection reset".
@Suite(.serialized) struct ResetNamespaceTests {
    enum CaptureOn: String, Sendable { case bridge, clientPort }

    @Test(.timeLimit(.minutes(1)),
          arguments: [(false, CaptureOn.bridge), (false, CaptureOn.clientPort), (true, CaptureOn.bridge)])
    func aResetCutsALiveConnectionOnBothEnds(ipv6: Bool, captureOn: CaptureOn) throws {
        let lab = try NamespaceLab()
        defer { lab.cleanup() }
        let bridge = lab.interface("br")
        let clientPort = lab.interface("c0")
        let serverPort = lab.interface("s0")
        try lab.addNamespace("cli")
        try lab.addNamespace("srv")
        try lab.addVeth("eth0", in: "cli", clientPort, in: nil)
        try lab.addVeth("eth0", in: "srv", serverPort, in: nil)
        try lab.addBridge(bridge, members: [clientPort, serverPort])
        let clientAddress = ipv6 ? "fd77:41::1" : "10.77.41.1"
        let serverAddress = ipv6 ? "fd77:41::2" : "10.77.41.2"
        if ipv6 {
            try lab.ip(["-n", lab.namespace("cli"), "addr", "add", "\(clientAddress)/64", "dev", "eth0", "nodad"])
            try lab.ip(["-n", lab.namespace("srv"), "addr", "add", "\(serverAddress)/64", "dev", "eth0", "nodad"])
        } else {
            try lab.address("\(clientAddress)/24", on: "eth0", in: "cli")
            try lab.address("\(serverAddress)/24", on: "eth0", in: "srv")
        }
        let port = 8041

        // Sidetap's side: a live capture feeding decode + flow table on its own thread.
        let captureDevice = captureOn == .bridge ? bridge : clientPort
        let capture = try Self.openCapture(captureDevice)
        let source = SourceDescription(name: "lab", guest: "cli", linkType: capture.linkType, snaplen: capture.snaplen,
                                       origin: "interface \(captureDevice)", interface: captureDevice)
        let table = FlowTable(settings: FlowTableSettings(capacity: 256), source: source, sourceIndex: 0)
        let pump = CapturePump(capture: capture, table: table)
        pump.start()
        defer { pump.stop() }

        // tcpdump on the bridge records what went out.
        let dump = FileManager.default.temporaryDirectory.appendingPathComponent("\(lab.prefix)-reset.pcap").path
        defer { try? FileManager.default.removeItem(atPath: dump) }
        let tcpdump = Process()
        tcpdump.executableURL = URL(fileURLWithPath: "/usr/bin/tcpdump")
        tcpdump.arguments = ["-i", bridge, "-n", "-U", "-Z", "root", "-w", dump, "tcp port \(port)"]
        tcpdump.standardOutput = FileHandle.nullDevice
        tcpdump.standardError = FileHandle.nullDevice
        try tcpdump.run()
        defer { if tcpdump.isRunning { kill(tcpdump.processIdentifier, SIGKILL) } }
        let dumping = Self.waitFor(seconds: 5) { FileManager.default.fileExists(atPath: dump) }
        try #require(dumping, "tcpdump did not start on \(bridge)")
        Thread.sleep(forTimeInterval: 0.3)

        // The connection: the server writes, reads, then waits; the client reads, writes, waits.
        let family = ipv6 ? "socket.AF_INET6" : "socket.AF_INET"
        let wait = """
        c.settimeout(15)
        t = time.time()
        try:
            d = c.recv(100)
            print('EOF' if not d else 'DATA', flush=True)
        except ConnectionResetError:
            print('RESET %.3f' % (time.time() - t), flush=True)
        except socket.timeout:
            print('TIMEOUT', flush=True)
        """
        let server = """
        import socket, time
        s = socket.socket(\(family), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('\(serverAddress)', \(port)))
        s.listen(1)
        s.settimeout(15)
        c, _ = s.accept()
        c.sendall(b'hello from the server')
        c.recv(100)
        \(wait)
        """
        let client = """
        import socket, time
        c = socket.socket(\(family), socket.SOCK_STREAM)
        c.settimeout(15)
        for attempt in range(50):
            try:
                c.connect(('\(serverAddress)', \(port)))
                break
            except (ConnectionRefusedError, OSError):
                time.sleep(0.1)
                c.close()
                c = socket.socket(\(family), socket.SOCK_STREAM)
                c.settimeout(15)
        c.recv(100)
        c.sendall(b'hello from the client, a bit longer')
        \(wait)
        """
        let serverRun = Background { try lab.exec(in: "srv", ["python3", "-c", server], timeout: 30) }
        let clientRun = Background { try lab.exec(in: "cli", ["python3", "-c", client], timeout: 30) }

        // Wait until the table has seen the data both ways, and for the ACKs to settle.
        let matches: (FlowSnapshot) -> Bool = { $0.key.lowerPort == UInt16(port) || $0.key.upperPort == UInt16(port) }
        let seen = Self.waitFor(seconds: 10) {
            guard let flow = table.snapshots(limit: 1, where: matches).first else { return false }
            return flow.initiator.flagsSeen.contains(.psh) && flow.responder.flagsSeen.contains(.psh)
        }
        try #require(seen, "the flow table never saw the data exchange")
        Thread.sleep(forTimeInterval: 0.3)
        let flow = try #require(table.snapshots(limit: 1, where: matches).first)
        #expect(flow.initiator.address == IPAddress(clientAddress)!)
        #expect(flow.responder.address == IPAddress(serverAddress)!)
        #expect(table.snapshot(of: flow.key) != nil)

        let started = Date()
        let report = try PacketSocketResetter().reset(flow)
        #expect(report.interface == bridge)
        #expect(report.sequenceToInitiator == flow.responder.nextSequence)
        #expect(report.sequenceToResponder == flow.initiator.nextSequence)

        let serverOutput = try serverRun.wait()
        let clientOutput = try clientRun.wait()
        let elapsed = Date().timeIntervalSince(started)
        #expect(serverOutput.stdout.hasPrefix("RESET"), "server: \(serverOutput.stdout) \(serverOutput.stderr)")
        #expect(clientOutput.stdout.hasPrefix("RESET"), "client: \(clientOutput.stdout) \(clientOutput.stderr)")
        #expect(elapsed < 3, "the processes took \(elapsed) s to see the reset")

        // tcpdump saw exactly the two RSTs, with the sequence numbers each receiver expected
        // (on a loaded machine tcpdump may write them a while after the processes saw them).
        _ = Self.waitFor(seconds: 8) { ((try? Self.resets(in: dump)) ?? []).filter { $0.destinationPort == flow.initiator.port || $0.destinationPort == UInt16(port) }.count >= 2 }
        Thread.sleep(forTimeInterval: 0.3)
        // The test runner's children inherit its blocked SIGINT/SIGTERM: only SIGKILL ends
        // tcpdump, whose -U output is already on disk packet by packet.
        kill(tcpdump.processIdentifier, SIGKILL)
        tcpdump.waitUntilExit()
        // Only this connection's RSTs: the client's connect retries (before the server listens)
        // draw "connection refused" RSTs of their own, from other client ports.
        let resets = try Self.resets(in: dump).filter {
            $0.destinationPort == flow.initiator.port || ($0.destinationPort == UInt16(port) && $0.destination == IPAddress(serverAddress)!)
        }
        #expect(resets.count == 2, "RSTs of the connection on the bridge: \(resets)")
        let toClient = resets.first { $0.destination == IPAddress(clientAddress)! }
        let toServer = resets.first { $0.destination == IPAddress(serverAddress)! }
        #expect(toClient?.sequence == flow.responder.nextSequence && toClient?.destinationPort == flow.initiator.port)
        #expect(toServer?.sequence == flow.initiator.nextSequence && toServer?.destinationPort == UInt16(port))
    }

    static func openCapture(_ device: String) throws -> LiveCapture {
        var inactive = try InactiveLiveCapture(device: device)
        try inactive.setSnaplen(256)
        try inactive.setPromiscuous(true)
        try inactive.setImmediateMode(true)
        try inactive.setTimeout(milliseconds: 10)
        try inactive.setNanosecondPrecision()
        let capture = try inactive.activate()
        try capture.setNonblocking(true)
        return capture
    }

    static func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    struct SeenReset: CustomStringConvertible {
        var destination: IPAddress
        var destinationPort: UInt16
        var sequence: UInt32
        var description: String { "RST to \(destination):\(destinationPort) seq \(sequence)" }
    }

    static func resets(in path: String) throws -> [SeenReset] {
        let capture = try OfflineCapture(path: path)
        defer { capture.close() }
        var decoded = DecodedPacket()
        var found: [SeenReset] = []
        while case .packet(let packet) = capture.next() {
            PacketDecoder.decode(packet.bytes, linkType: capture.linkType, into: &decoded)
            if decoded.hasTCP && decoded.tcpFlags.contains(.rst) {
                found.append(SeenReset(destination: decoded.destination, destinationPort: decoded.destinationPort, sequence: decoded.tcpSequence))
            }
        }
        return found
    }
}

/// Reads a live capture on its own thread into a flow table, as a source worker does.
final class CapturePump: @unchecked Sendable {
    let capture: LiveCapture
    let table: FlowTable
    let stopping = Atomic<Bool>(false)
    let finished = Atomic<Bool>(false)

    init(capture: LiveCapture, table: FlowTable) {
        self.capture = capture
        self.table = table
    }

    func start() {
        Thread { [self] in
            var decoded = DecodedPacket()
            let linkType = capture.linkType
            while !stopping.load(ordering: .acquiring) {
                let outcome = capture.dispatch(limit: 64) { packet in
                    PacketDecoder.decode(packet.bytes, linkType: linkType, into: &decoded)
                    let flow = FlowKey.make(decoded)
                    table.update(decoded, key: flow.key, reversed: flow.reversed, hash: flow.key.symmetricHash,
                                 wireLength: Int(packet.wireLength), timestampNanos: UInt64(bitPattern: packet.timestampNanos))
                }
                if outcome != .packets(64) { usleep(2000) }
                if case .error = outcome { break }
            }
            finished.store(true, ordering: .releasing)
        }.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { usleep(1000) }
        capture.close()
    }
}

/// Runs a throwing job on its own thread; `wait()` returns its result.
final class Background<Value: Sendable>: @unchecked Sendable {
    private let lock = NSCondition()
    private var result: Result<Value, any Error>?

    init(_ job: @escaping @Sendable () throws -> Value) {
        Thread { [self] in
            let outcome = Result { try job() }
            lock.lock()
            result = outcome
            lock.broadcast()
            lock.unlock()
        }.start()
    }

    func wait() throws -> Value {
        lock.lock()
        while result == nil { lock.wait() }
        let outcome = result!
        lock.unlock()
        return try outcome.get()
    }
}
