import Foundation
import SidetapCapture
import SidetapCore
import SidetapTestKit

/// A guest and a peer namespace joined through a host bridge (10.77.0.0/24); more guests can
/// be added. `hostSide(name)` is the host end of a namespace's veth, what a source captures.
final class GuestLab {
    let lab: NamespaceLab
    let bridge: String
    private(set) var hosts: [String: String] = [:]
    private(set) var addresses: [String: String] = [:]

    init(guests: [(String, String)] = [("guest", "10.77.0.1"), ("peer", "10.77.0.2")]) throws {
        lab = try NamespaceLab()
        bridge = lab.interface("br")
        try lab.addBridge(bridge, members: [])
        for (name, address) in guests { try attach(name, address: address, createNamespace: true) }
    }

    /// Creates (or re-creates) the namespace's veth, bridges its host end, addresses it.
    func attach(_ name: String, address: String, createNamespace: Bool = false) throws {
        if createNamespace {
            try lab.addNamespace(name)
            // IPv4 only: an interface with IPv6 sends neighbour discovery and MLD by itself as it
            // comes up, stray packets on a link the tests expect to be quiet. Set as the
            // namespace's default before its veth end is created there.
            _ = try lab.exec(in: name, ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1"])
        }
        let host = lab.interface(String(name.prefix(3)) + "0")
        try lab.addVeth("eth0", in: name, host, in: nil)
        try lab.ip(["link", "set", host, "master", bridge])
        try lab.address("\(address)/24", on: "eth0", in: name)
        hosts[name] = host
        addresses[name] = address
    }

    func hostSide(_ name: String) -> String { hosts[name]! }

    /// `ping -c COUNT` from one namespace to another's address; throws unless all replies came.
    @discardableResult
    func ping(from: String, to: String, count: Int, interval: String = "0.05", size: Int? = nil, flood: Bool = false) throws -> String {
        var command = ["ping", "-n", "-c", "\(count)", "-W", "2"]
        command += flood ? ["-f"] : ["-i", interval]
        if let size { command += ["-s", "\(size)"] }
        command.append(addresses[to]!)
        let result = try lab.exec(in: from, command, timeout: 60)
        guard result.succeeded, result.stdout.contains("\(count) received") else {
            throw LabFailure("ping \(from) → \(to): \(result.stdout)\(result.stderr)")
        }
        return result.stdout
    }

    deinit { lab.cleanup() }
}

struct LabFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One delivered packet, copied.
struct Recorded: Equatable {
    var bytes: [UInt8]
    var wireLength: UInt32
    var timestampNanos: Int64
    var direction: PacketDirection
    var sourceIndex: UInt16

    /// The ICMP echo this IPv4-in-Ethernet packet carries: (type, source, destination, sequence).
    var icmpEcho: (type: UInt8, source: String, destination: String, sequence: UInt16)? {
        guard bytes.count >= 42, bytes[12] == 0x08, bytes[13] == 0x00, bytes[14] == 0x45, bytes[23] == 1 else { return nil }
        let type = bytes[34]
        guard type == 8 || type == 0 else { return nil }
        let source = bytes[26..<30].map(String.init).joined(separator: ".")
        let destination = bytes[30..<34].map(String.init).joined(separator: ".")
        return (type, source, destination, UInt16(bytes[40]) << 8 | UInt16(bytes[41]))
    }
}

/// Runs a source's poll loop on its own thread until `finish()`, recording every packet and
/// any error `poll` throws (which a live source must never do).
final class SourceRunner: @unchecked Sendable {
    let source: any PacketSource
    private let lock = NSLock()
    private var recorded: [Recorded] = []
    private var thrown: [String] = []
    private var polls = 0
    private let done = DispatchSemaphore(value: 0)

    init(_ source: any PacketSource) throws {
        self.source = source
        try source.open()
        Thread { [self] in loop() }.start()
    }

    private func loop() {
        while true {
            do {
                let outcome = try source.poll(limit: 64) { packet in
                    let copy = Recorded(bytes: Array(packet.bytes), wireLength: packet.wireLength,
                                        timestampNanos: packet.timestampNanos, direction: packet.direction,
                                        sourceIndex: packet.sourceIndex)
                    lock.withLock { recorded.append(copy) }
                }
                lock.withLock { polls += 1 }
                if outcome == .endOfInput { break }
            } catch {
                lock.withLock { thrown.append("\(error)") }
                break
            }
        }
        source.close()
        done.signal()
    }

    var packets: [Recorded] { lock.withLock { recorded } }
    var errors: [String] { lock.withLock { thrown } }
    var pollCount: Int { lock.withLock { polls } }

    /// Stops the source and waits (at most 5 s) for the loop to end; false when it did not.
    @discardableResult
    func finish() -> Bool {
        source.stop()
        return done.wait(timeout: .now() + 5) == .success
    }

    /// ICMP echo packets between the two addresses, in delivery order.
    func echoes(between a: String, and b: String) -> [Recorded] {
        packets.filter { p in
            guard let e = p.icmpEcho else { return false }
            return (e.source == a && e.destination == b) || (e.source == b && e.destination == a)
        }
    }
}

/// Collects live-source events from the polling thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [LiveSourceEvent] = []
    var handler: @Sendable (LiveSourceEvent) -> Void { { [self] event in lock.withLock { events.append(event) } } }
    var all: [LiveSourceEvent] { lock.withLock { events } }
    func count(_ kind: LiveSourceEvent.Kind) -> Int { all.filter { $0.kind == kind }.count }
}

/// tcpdump writing a nanosecond pcap of one interface in the background (a `ChildProcess`:
/// reaped by its own pid, so a missed exit cannot hang the test).
final class TcpdumpCapture {
    let process: ChildProcess
    let path: String
    private let errorPath: String

    init(interface: String, expression: String, path: String) throws {
        self.path = path
        errorPath = path + ".stderr"
        process = try ChildProcess(["/usr/bin/tcpdump", "-i", interface, "-Z", "root", "-U", "-n", "--time-stamp-precision=nano", "-w", path, expression],
                                   standardError: .file(errorPath))
        guard eventually(10, { (try? String(contentsOfFile: errorPath, encoding: .utf8))?.contains("listening on") == true }) else {
            process.stop(within: 1)
            throw LabFailure("tcpdump did not start: \((try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")")
        }
    }

    /// Stops tcpdump once everything it captured is in its file: with `-U` every packet is
    /// written as it is captured, so SIGKILL loses nothing.
    func finish() {
        usleep(200_000)
        process.signal(SIGKILL)
        process.wait(atMost: 10)
        try? FileManager.default.removeItem(atPath: errorPath)
    }
}
