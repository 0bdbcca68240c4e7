import Foundation
import SidetapCapture
import SidetapCore
import SidetapTestKit

/// Network namespaces and veth pairs for the guest tests, every name starting with `stvirt`
/// plus a tag (so two suites never share a name), addresses in 10.77.76.0/24. Two "guest
/// incarnations" g1 (10.77.76.1, host side `<prefix>A`) and g2 (.2, host side `<prefix>B`) and a
/// peer p (.3, host side `<prefix>P`) on one host bridge: pinging the peer from g1 crosses A,
/// from g2 crosses B. Removed by name on cleanup (leftovers of an earlier run first).
final class VirtLab: @unchecked Sendable {
    let prefix: String
    static let ipTool = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"
    static let addresses = ["g1": "10.77.76.1", "g2": "10.77.76.2", "p": "10.77.76.3"]

    var a: String { prefix + "A" }
    var b: String { prefix + "B" }
    var peer: String { prefix + "P" }
    var bridge: String { prefix + "br" }

    /// `tag`: one or two letters, different per suite.
    init(tag: String) throws {
        guard getuid() == 0 else { throw LabProblem("the guest lab needs root") }
        prefix = "stvirt" + tag
        cleanup()
        try ip(["link", "add", bridge, "type", "bridge"])
        try ip(["link", "set", bridge, "up"])
        for (name, host) in [("g1", a), ("g2", b), ("p", peer)] {
            let space = namespace(name)
            try ip(["netns", "add", space])
            try ip(["-n", space, "link", "set", "lo", "up"])
            try ip(["link", "add", "name", host, "type", "veth", "peer", "name", "eth0", "netns", space])
            try? "1".write(toFile: "/proc/sys/net/ipv6/conf/\(host)/disable_ipv6", atomically: false, encoding: .utf8)
            try ip(["link", "set", host, "master", bridge])
            try ip(["link", "set", host, "up"])
            try ip(["-n", space, "addr", "add", "\(Self.addresses[name]!)/24", "dev", "eth0"])
            try ip(["-n", space, "link", "set", "eth0", "up"])
        }
    }

    deinit { cleanup() }

    func namespace(_ name: String) -> String { "\(prefix)-\(name)" }

    @discardableResult
    func ip(_ arguments: [String]) throws -> String {
        let result = try ExternalTool.run(Self.ipTool, arguments, timeout: 30)
        guard result.succeeded else { throw LabProblem("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout
    }

    /// `count` pings from namespace `from` to the peer, 20 ms apart; throws unless all came back.
    func ping(from: String, count: Int) throws {
        let result = try ExternalTool.run(Self.ipTool, ["netns", "exec", namespace(from), "ping", "-n", "-c", "\(count)", "-i", "0.02", "-W", "2",
                                                        Self.addresses["p"]!], timeout: 60)
        guard result.succeeded, result.stdout.contains("\(count) received") else {
            throw LabProblem("ping \(from) → p: \(result.stdout)\(result.stderr)")
        }
    }

    /// Removes every link and namespace of this prefix, by name.
    func cleanup() {
        for link in [a, b, peer, bridge] { _ = try? ExternalTool.run(Self.ipTool, ["link", "del", link], timeout: 10) }
        for name in ["g1", "g2", "p"] { _ = try? ExternalTool.run(Self.ipTool, ["netns", "del", namespace(name)], timeout: 10) }
    }
}

struct LabProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A copied ICMP echo: who sent it, and the source index and guest it was labelled with.
struct Echo: Equatable {
    var from: String
    var to: String
    var sourceIndex: UInt16
}

/// Polls a source on its own thread until `finish()`, keeping the ICMP echoes it delivers.
final class EchoRecorder: @unchecked Sendable {
    let source: any PacketSource
    private let lock = NSLock()
    private var echoes: [Echo] = []
    private var thrown: [String] = []
    private let done = DispatchSemaphore(value: 0)

    /// Starts polling an already opened source.
    init(_ source: any PacketSource) {
        self.source = source
        Thread { [self] in loop() }.start()
    }

    private func loop() {
        while true {
            do {
                let outcome = try source.poll(limit: 64) { packet in
                    let b = packet.bytes
                    guard b.count >= 42, b[12] == 0x08, b[13] == 0x00, b[23] == 1, b[34] == 8 || b[34] == 0 else { return }
                    let from = b[26..<30].map(String.init).joined(separator: ".")
                    let to = b[30..<34].map(String.init).joined(separator: ".")
                    lock.withLock { echoes.append(Echo(from: from, to: to, sourceIndex: packet.sourceIndex)) }
                }
                if outcome == .endOfInput { break }
            } catch {
                lock.withLock { thrown.append("\(error)") }
                break
            }
        }
        done.signal()
    }

    var all: [Echo] { lock.withLock { echoes } }
    var errors: [String] { lock.withLock { thrown } }
    func reset() { lock.withLock { echoes.removeAll() } }
    func count(from address: String) -> Int { all.filter { $0.from == address || $0.to == address }.count }

    /// Stops the source and waits (at most 5 s) for the loop to end.
    @discardableResult
    func finish() -> Bool {
        source.stop()
        return done.wait(timeout: .now() + 5) == .success
    }
}

/// Collects source events.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [LiveSourceEvent] = []
    var handler: @Sendable (LiveSourceEvent) -> Void { { [self] event in lock.withLock { events.append(event) } } }
    var all: [LiveSourceEvent] { lock.withLock { events } }
    func messages(_ kind: LiveSourceEvent.Kind) -> [String] { all.filter { $0.kind == kind }.map(\.message) }
}

/// A resolver whose answer the test sets.
final class ScriptedResolver: InterfaceResolver, @unchecked Sendable {
    private let lock = NSLock()
    private var answer: InterfaceResolution
    private var calls = 0
    init(_ answer: InterfaceResolution) { self.answer = answer }
    var subject: String { "guest web01 (scripted)" }
    func set(_ answer: InterfaceResolution) { lock.withLock { self.answer = answer } }
    var lookups: Int { lock.withLock { calls } }
    func resolve() -> InterfaceResolution { lock.withLock { calls += 1; return answer } }
}
