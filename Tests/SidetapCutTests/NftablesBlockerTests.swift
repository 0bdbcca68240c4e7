import Foundation
import SidetapCore
import SidetapCut
import SidetapTestKit
import Testing

/// Real blocks in namespaces the test builds: a client and a server joined through a "host"
/// namespace (a bridge, or a router), the blocker running in the host namespace only.
@Suite(.serialized) struct NftablesBlockerTests {
    /// A topology could not be built.
    struct SetupFailure: Error { var reason: String }

    /// A client, a server and a host namespace between them, with a TCP server running.
    final class Topology {
        let lab: NamespaceLab
        let client: IPAddress, server: IPAddress
        let client6: IPAddress?, server6: IPAddress?
        let blocker: NftablesBlocker
        private var serverProcess: ChildProcess?

        static let port: UInt16 = 5000
        /// The system python3 when present (a pyenv shim on PATH costs a second per start).
        static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

        /// Bridged: client (10.77.42.1, fd77:42::1) and server (10.77.42.2, fd77:42::2) on one
        /// bridge inside the host namespace.
        static func bridged() throws -> Topology {
            let lab = try NamespaceLab()
            for name in ["cli", "srv", "host"] { try lab.addNamespace(name) }
            try lab.addVeth("eth0", in: "cli", "vc", in: "host")
            try lab.addVeth("eth0", in: "srv", "vs", in: "host")
            let host = lab.namespace("host")
            try lab.ip(["-n", host, "link", "add", "br0", "type", "bridge"])
            for member in ["vc", "vs"] { try lab.ip(["-n", host, "link", "set", member, "master", "br0"]) }
            try lab.ip(["-n", host, "link", "set", "br0", "up"])
            try lab.address("10.77.42.1/24", on: "eth0", in: "cli")
            try lab.address("10.77.42.2/24", on: "eth0", in: "srv")
            try lab.ip(["-n", lab.namespace("cli"), "addr", "add", "fd77:42::1/64", "dev", "eth0", "nodad"])
            try lab.ip(["-n", lab.namespace("srv"), "addr", "add", "fd77:42::2/64", "dev", "eth0", "nodad"])
            return try Topology(lab: lab, client: "10.77.42.1", server: "10.77.42.2", client6: "fd77:42::1", server6: "fd77:42::2")
        }

        /// Routed: client 10.77.42.1/24 and server 10.77.142.2/24, the host namespace routing
        /// between them (ip_forward=1), no bridge anywhere.
        static func routed() throws -> Topology {
            let lab = try NamespaceLab()
            for name in ["cli", "srv", "host"] { try lab.addNamespace(name) }
            try lab.addVeth("eth0", in: "cli", "vc", in: "host")
            try lab.addVeth("eth0", in: "srv", "vs", in: "host")
            try lab.address("10.77.42.1/24", on: "eth0", in: "cli")
            try lab.address("10.77.42.254/24", on: "vc", in: "host")
            try lab.address("10.77.142.2/24", on: "eth0", in: "srv")
            try lab.address("10.77.142.254/24", on: "vs", in: "host")
            try lab.ip(["-n", lab.namespace("cli"), "route", "add", "default", "via", "10.77.42.254"])
            try lab.ip(["-n", lab.namespace("srv"), "route", "add", "default", "via", "10.77.142.254"])
            let forward = try lab.exec(in: "host", ["sysctl", "-w", "net.ipv4.ip_forward=1"])
            guard forward.succeeded else { throw SetupFailure(reason: "sysctl ip_forward: \(forward.stderr)") }
            return try Topology(lab: lab, client: "10.77.42.1", server: "10.77.142.2", client6: nil, server6: nil)
        }

        private init(lab: NamespaceLab, client: String, server: String, client6: String?, server6: String?) throws {
            self.lab = lab
            self.client = IPAddress(client)!
            self.server = IPAddress(server)!
            self.client6 = client6.flatMap { IPAddress($0) }
            self.server6 = server6.flatMap { IPAddress($0) }
            blocker = try NftablesBlocker(namespace: lab.namespace("host"))
            // Accepts on both IPv4 and IPv6, sends one line and closes first (so the client
            // never holds a TIME_WAIT that would stop a source port's reuse).
            let script = """
            import socket
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", \(Self.port)))
            s.listen(64)
            while True:
                c, _ = s.accept()
                c.sendall(b"hello\\n")
                c.close()
            """
            serverProcess = try lab.spawn(in: "srv", [Self.python, "-c", script])
            // Wait (bounded) until the server answers.
            let deadline = Date().addingTimeInterval(5)
            while !(try connects(to: self.server)) {
                guard Date() < deadline else { throw SetupFailure(reason: "the test server gave no answer within 5 s") }
                usleep(100_000)
            }
        }

        deinit {
            serverProcess?.kill()
            lab.cleanup()
        }

        /// True when a new TCP connection from the client (from `sourcePort` when given)
        /// reaches the server and reads its greeting within 1 s.
        func connects(to address: IPAddress, sourcePort: UInt16 = 0) throws -> Bool {
            let family = address.isIPv4 ? "AF_INET" : "AF_INET6"
            let bind = address.isIPv4 ? "(\"0.0.0.0\", \(sourcePort))" : "(\"::\", \(sourcePort))"
            let script = """
            import socket, sys
            s = socket.socket(socket.\(family), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(\(bind))
            s.settimeout(1.0)
            try:
                s.connect(("\(address)", \(Self.port)))
                sys.exit(0 if s.recv(16) == b"hello\\n" else 2)
            except OSError as e:
                print(e)
                sys.exit(1)
            """
            let result = try lab.exec(in: "cli", [Self.python, "-c", script], timeout: 10)
            #expect(result.status == 0 || result.status == 1, "client: \(result.stdout)\(result.stderr)")
            return result.status == 0
        }

        /// True when one ping from the client to `address` gets its reply within 1 s.
        func pings(_ address: IPAddress) throws -> Bool {
            try lab.exec(in: "cli", ["ping", "-c", "1", "-W", "1", "\(address)"], timeout: 10).succeeded
        }

        /// The tables nft lists in the host namespace.
        func hostTables() throws -> String {
            let result = try lab.exec(in: "host", ["nft", "list", "tables"])
            #expect(result.succeeded, "\(result.stderr)")
            return result.stdout
        }

        func tcp(from port: UInt16) -> FlowKey {
            FlowKey(lowerAddress: client, upperAddress: server, lowerPort: port, upperPort: Self.port, ipProtocol: 6, vlan: 0xFFFF)
        }
    }

    /// The checks both topologies must pass.
    func exercise(_ topology: Topology) throws {
        let blocker = topology.blocker, server = topology.server
        #expect(try topology.connects(to: server))

        // A network block with a 3 s TTL stops new connections, and the kernel lifts it
        // on its own: nothing here touches nft between the block and the retry.
        let blockedAt = Date()
        try blocker.block(.network(server, prefixLength: 32), ttlSeconds: 3)
        #expect(try !topology.connects(to: server))
        let active = try blocker.activeBlocks()
        #expect(active.count == 1)
        #expect(active.first?.target == .network(server, prefixLength: 32))
        #expect((0...3).contains(active.first?.secondsLeft ?? -1))
        let wait = 3.6 - Date().timeIntervalSince(blockedAt)
        if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
        #expect(try topology.connects(to: server), "the kernel did not expire the block")
        #expect(try blocker.activeBlocks().isEmpty)

        // One 5-tuple: its source port is blocked, another source port still connects, and
        // unblock lifts it at once.
        let flow = topology.tcp(from: 41001)
        try blocker.block(.flow(flow), ttlSeconds: 60)
        #expect(try !topology.connects(to: server, sourcePort: 41001))
        #expect(try topology.connects(to: server, sourcePort: 41002))
        #expect(try blocker.activeBlocks().map(\.target) == [.flow(flow)])
        // Renewing the TTL keeps the block.
        try blocker.block(.flow(flow), ttlSeconds: 90)
        #expect((61...90).contains(try blocker.activeBlocks().first?.secondsLeft ?? 0))
        #expect(try !topology.connects(to: server, sourcePort: 41001))
        try blocker.unblock(.flow(flow))
        #expect(try topology.connects(to: server, sourcePort: 41001))
        try blocker.unblock(.flow(flow))  // already gone: not an error

        // ICMP between the two hosts, a flow without ports.
        #expect(try topology.pings(server))
        let icmp = FlowKey(lowerAddress: topology.client, upperAddress: server, lowerPort: 0, upperPort: 0, ipProtocol: 1, vlan: 0xFFFF)
        try blocker.block(.flow(icmp), ttlSeconds: 60)
        #expect(try !topology.pings(server))
        #expect(try topology.connects(to: server))
        try blocker.unblock(.flow(icmp))
        #expect(try topology.pings(server))

        // removeAll deletes Sidetap's tables only.
        let other = try topology.lab.exec(in: "host", ["nft", "add", "table", "inet", "othertest"])
        #expect(other.succeeded, "\(other.stderr)")
        try blocker.block(.network(server, prefixLength: 24), ttlSeconds: 60)
        #expect(try !topology.connects(to: server))
        let before = try topology.hostTables()
        #expect(before.contains("table inet sidetap") && before.contains("table bridge sidetap"), "\(before)")
        try blocker.removeAll()
        let after = try topology.hostTables()
        #expect(!after.contains("sidetap"), "\(after)")
        #expect(after.contains("table inet othertest"), "\(after)")
        #expect(try topology.connects(to: server))
        #expect(try blocker.activeBlocks().isEmpty)
        try blocker.removeAll()  // idempotent
        try blocker.unblock(.network(server, prefixLength: 24))  // no tables: nothing to lift
    }

    @Test(.timeLimit(.minutes(3))) func bridgedTrafficIsBlockedByTheBridgeTable() throws {
        let topology = try Topology.bridged()
        try exercise(topology)
    }

    @Test(.timeLimit(.minutes(3))) func routedTrafficIsBlockedByTheInetTable() throws {
        let topology = try Topology.routed()
        try exercise(topology)
    }

    @Test(.timeLimit(.minutes(3))) func ipv6NetworksAndFlowsAreBlockedAcrossABridge() throws {
        let topology = try Topology.bridged()
        let blocker = topology.blocker
        let server6 = try #require(topology.server6), client6 = try #require(topology.client6)
        #expect(try topology.connects(to: server6))
        try blocker.block(.network(server6, prefixLength: 128), ttlSeconds: 60)
        #expect(try !topology.connects(to: server6))
        #expect(try topology.connects(to: topology.server), "IPv4 must stay open")
        try blocker.unblock(.network(server6, prefixLength: 128))
        #expect(try topology.connects(to: server6))

        let flow = FlowKey(lowerAddress: client6, upperAddress: server6, lowerPort: 42001, upperPort: Topology.port, ipProtocol: 6, vlan: 0xFFFF)
        try blocker.block(.flow(flow), ttlSeconds: 60)
        #expect(try !topology.connects(to: server6, sourcePort: 42001))
        #expect(try topology.connects(to: server6, sourcePort: 42002))
        #expect(try blocker.activeBlocks().map(\.target) == [.flow(flow)])
        try blocker.removeAll()
        #expect(try topology.connects(to: server6, sourcePort: 42001))
    }

    @Test(.timeLimit(.minutes(3))) func overlappingNetworksGiveAClearErrorAndSameNetworkRenews() throws {
        let topology = try Topology.bridged()
        let blocker = topology.blocker
        try blocker.block(.network(IPAddress("10.77.42.0")!, prefixLength: 24), ttlSeconds: 60)
        try blocker.block(.network(IPAddress("10.77.42.77")!, prefixLength: 24), ttlSeconds: 30)
        #expect(try blocker.activeBlocks().map(\.secondsLeft).allSatisfy { (1...30).contains($0) })
        do {
            try blocker.block(.network(topology.server, prefixLength: 32), ttlSeconds: 30)
            Issue.record("an overlapping network block did not fail")
        } catch let error as CutError {
            #expect(error.description.contains("overlap"), "\(error)")
        }
        // Lifting an absent network that overlaps a blocked one is not an error.
        try blocker.unblock(.network(topology.server, prefixLength: 32))
        #expect(try blocker.activeBlocks().count == 1)
        try blocker.removeAll()
    }
}
