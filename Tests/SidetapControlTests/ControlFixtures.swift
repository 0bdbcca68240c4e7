import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SidetapControl
import SidetapCore
import Synchronization
import Testing

/// Flow tables with fixed contents that a test can change.
final class FixedFlows: FlowLookup, Sendable {
    let flows: Mutex<[FlowSnapshot]>
    init(_ flows: [FlowSnapshot]) { self.flows = Mutex(flows) }

    func snapshot(of key: FlowKey) -> FlowSnapshot? { flows.withLock { $0.first { $0.key == key } } }
    func snapshots(limit: Int, where filter: (FlowSnapshot) -> Bool) -> [FlowSnapshot] {
        Array(flows.withLock { $0 }.filter(filter).prefix(limit))
    }
    var flowStatistics: FlowTableStatistics {
        FlowTableStatistics(capacity: 16, active: flows.withLock { $0.count }, created: 0, evictedIdle: 0, evictedFull: 0)
    }
    func update(_ body: (inout [FlowSnapshot]) -> Void) { flows.withLock { body(&$0) } }
}

/// Records resets instead of sending them.
final class RecordingResetter: ConnectionResetter, Sendable {
    let resets = Mutex<[FlowSnapshot]>([])
    func reset(_ flow: FlowSnapshot) throws -> ResetReport {
        resets.withLock { $0.append(flow) }
        return ResetReport(interface: flow.source.interface ?? "?", sequenceToInitiator: flow.responder.nextSequence ?? 0,
                           sequenceToResponder: flow.initiator.nextSequence ?? 0)
    }
}

/// Records blocks instead of installing them.
final class RecordingBlocker: TrafficBlocker, Sendable {
    let blocks = Mutex<[(BlockTarget, Int)]>([])
    let unblocks = Mutex<[BlockTarget]>([])
    let removedAll = Mutex<Bool>(false)
    func block(_ target: BlockTarget, ttlSeconds: Int) throws { blocks.withLock { $0.append((target, ttlSeconds)) } }
    func unblock(_ target: BlockTarget) throws { unblocks.withLock { $0.append(target) } }
    func removeAll() throws { removedAll.withLock { $0 = true } }
}

/// Keeps audit entries in memory; can be told to fail.
final class MemoryAudit: AuditSink, Sendable {
    let entries = Mutex<[AuditEntry]>([])
    let failing = Mutex<Bool>(false)
    struct Broken: Error {}
    func append(_ entry: AuditEntry) throws {
        if failing.withLock({ $0 }) { throw Broken() }
        entries.withLock { $0.append(entry) }
    }
    var all: [AuditEntry] { entries.withLock { $0 } }
}

enum FlowSamples {
    static let guestAddress = IPAddress("10.0.0.5")!
    static let serverAddress = IPAddress("10.0.1.9")!

    /// A TCP flow web01 (10.0.0.5:43512) → 10.0.1.9:443 seen on vnet0.
    static func web(nextInitiator: UInt32 = 1000, nextResponder: UInt32 = 5000, seen: UInt64 = 1_700_000_000_000_000_000) -> FlowSnapshot {
        let tuple = FlowTuple(ipProtocol: 6, source: guestAddress, sourcePort: 43512, destination: serverAddress, destinationPort: 443)
        return FlowSnapshot(
            key: tuple.key,
            initiator: FlowEndpoint(address: guestAddress, port: 43512, mac: 0x0200_0000_0001, packets: 10, bytes: 1000, nextSequence: nextInitiator,
                                    acknowledgement: nextResponder, window: 502, flagsSeen: [.syn, .ack]),
            responder: FlowEndpoint(address: serverAddress, port: 443, mac: 0x0200_0000_0002, packets: 9, bytes: 9000, nextSequence: nextResponder,
                                    acknowledgement: nextInitiator, window: 509, flagsSeen: [.syn, .ack]),
            firstSeenNanos: seen - 5_000_000_000, lastSeenNanos: seen, sourceIndex: 0,
            source: SourceDescription(name: "web01-vnet0", guest: "web01", linkType: .ethernet, snaplen: 262_144, origin: "interface vnet0", interface: "vnet0"),
            linkType: .ethernet)
    }

    static var webTuple: FlowTuple {
        FlowTuple(ipProtocol: 6, source: guestAddress, sourcePort: 43512, destination: serverAddress, destinationPort: 443)
    }
}

/// A control API over fakes, served on a temporary Unix socket (and TLS when asked).
struct ControlLab {
    let flows: FixedFlows
    let resetter = RecordingResetter()
    let blocker = RecordingBlocker()
    let audit = MemoryAudit()
    let events = EventHub()
    let cuts: CutService
    let api: ControlAPI
    let socketPath: String

    init(tag: String, access: AccessPolicy = noAppliances(), flows: [FlowSnapshot] = [FlowSamples.web()], escalation: Duration = .milliseconds(300),
         reload: (@Sendable () async -> ReloadOutcome)? = nil) {
        self.flows = FixedFlows(flows)
        let lookups: [any FlowLookup] = [self.flows]
        cuts = CutService(settings: .init(escalationWindow: escalation, defaultTTL: 30, maximumTTL: 3600),
                          flows: { lookups }, resetter: resetter, blocker: blocker, audit: audit, events: events)
        api = ControlAPI(version: "Sidetap test", statistics: { ControlServerTests.sample }, flows: { lookups }, cuts: cuts, events: events,
                         access: AccessHolder(access), audit: audit, reload: reload, metrics: { "sidetap_up 1\n" }, logger: Logger(label: "test"))
        socketPath = NSTemporaryDirectory() + "stc-\(tag)-\(getpid())/control.sock"
    }

    var client: ControlHTTPClient { ControlHTTPClient(endpoint: .unix(path: socketPath), timeout: .seconds(30)) }

    /// Runs the server in a service group while `body` runs.
    func run(tls: TLSListenerSettings? = nil, _ body: () async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(atPath: (socketPath as NSString).deletingLastPathComponent) }
        let server = ControlServer(socketPath: socketPath, tls: tls, api: api, logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        var waited = 0
        while !ControlSocket.isAnswering(socketPath) && waited < 500 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 1
        }
        #expect(ControlSocket.isAnswering(socketPath), "the server did not start")
        if let tls {
            waited = 0
            while !Self.tcpAnswers(port: tls.port) && waited < 500 {
                try await Task.sleep(for: .milliseconds(20))
                waited += 1
            }
        }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    static func tcpAnswers(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

extension ControlHTTPClient.Reply {
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var errorMessage: String { ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }
}

/// JSON bodies.
func jsonBody(_ object: [String: Any]) -> Data {
    try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
}

/// A policy with no appliances: only the local administrator gets in.
func noAppliances() -> AccessPolicy { try! AccessPolicy(appliances: []) }
