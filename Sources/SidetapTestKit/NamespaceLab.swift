import Foundation

/// A throw-away network lab for tests: network namespaces and veth/bridge/TAP links that the
/// test creates itself, all named with one unique prefix and removed by name on `cleanup()`
/// (also on deinit). Traffic stays between addresses inside these namespaces.
///
/// Needs root (CI runs as root). Host-side interface names are `<prefix><suffix>`, at most 15
/// characters; namespace names are `<prefix>-<name>`.
public final class NamespaceLab: @unchecked Sendable {
    /// Unique prefix of everything this lab creates, e.g. `st3fa9`.
    public let prefix: String
    private var namespaces: [String] = []
    private var hostLinks: [String] = []
    private let lock = NSLock()

    /// Why a lab step failed: the command and what it printed.
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var output: String
        public var description: String { "\(command): \(output)" }
    }

    /// Creates an empty lab; throws when not root or when `ip` is missing.
    public init() throws {
        guard getuid() == 0 else { throw Failure(command: "NamespaceLab", output: "network namespace tests need root") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
            throw Failure(command: "NamespaceLab", output: "iproute2 (ip) is not installed")
        }
        prefix = "st" + String(UInt32.random(in: 0...0xFFFF), radix: 16)
    }

    deinit { cleanup() }

    static let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"

    /// The full name of a lab namespace.
    public func namespace(_ name: String) -> String { "\(prefix)-\(name)" }

    /// The full name of a lab interface (≤ 15 characters).
    public func interface(_ suffix: String) -> String {
        let name = prefix + suffix
        precondition(name.count <= 15, "interface name \(name) is longer than 15 characters")
        return name
    }

    /// Runs `ip ARGS` and throws with its output when it fails.
    @discardableResult
    public func ip(_ arguments: [String]) throws -> String {
        let result = try ExternalTool.run(Self.ip, arguments, timeout: 30)
        guard result.succeeded else { throw Failure(command: "ip " + arguments.joined(separator: " "), output: result.stderr) }
        return result.stdout
    }

    /// Runs a command inside a lab namespace (`ip netns exec`).
    public func exec(in name: String, _ command: [String], timeout: Double = 30, interruptAfter: Double? = nil) throws -> ExternalTool.Output {
        try ExternalTool.run(Self.ip, ["netns", "exec", namespace(name)] + command, interruptAfter: interruptAfter, timeout: timeout)
    }

    /// Starts a command inside a lab namespace in the background; its standard output and
    /// error go to the file `output` when given (created or emptied), else nowhere. A
    /// `ChildProcess`: an empty signal mask, reaped by its own pid.
    public func spawn(in name: String, _ command: [String], output: String? = nil) throws -> ChildProcess {
        try ChildProcess([Self.ip, "netns", "exec", namespace(name)] + command,
                         standardOutput: output.map { .file($0) } ?? .discard,
                         standardError: output == nil ? .discard : .standardOutput)
    }

    /// Adds a namespace with its loopback up.
    @discardableResult
    public func addNamespace(_ name: String) throws -> String {
        let full = namespace(name)
        try ip(["netns", "add", full])
        lock.withLock { namespaces.append(full) }
        try ip(["-n", full, "link", "set", "lo", "up"])
        return full
    }

    /// Adds a veth pair. An end with a namespace moves there; an end without one stays on the
    /// host (IPv6 off, no address, so the host never sends on it by itself). Both ends are up.
    public func addVeth(_ a: String, in aNamespace: String?, _ b: String, in bNamespace: String?) throws {
        // Each end is created directly in its namespace, so "eth0" inside a namespace never
        // collides with the host's own interfaces.
        var command = ["link", "add", "name", a]
        if let aNamespace { command += ["netns", namespace(aNamespace)] }
        command += ["type", "veth", "peer", "name", b]
        if let bNamespace { command += ["netns", namespace(bNamespace)] }
        try ip(command)
        for (end, ns) in [(a, aNamespace), (b, bNamespace)] {
            if let ns {
                try ip(["-n", namespace(ns), "link", "set", end, "up"])
            } else {
                lock.withLock { hostLinks.append(end) }
                try quietHostLink(end)
                try ip(["link", "set", end, "up"])
            }
        }
    }

    /// Adds a bridge on the host (no address, IPv6 off) and puts `members` (host links) in it.
    public func addBridge(_ name: String, members: [String]) throws {
        try ip(["link", "add", name, "type", "bridge"])
        lock.withLock { hostLinks.append(name) }
        try quietHostLink(name)
        for member in members { try ip(["link", "set", member, "master", name]) }
        try ip(["link", "set", name, "up"])
    }

    /// Gives an interface inside a namespace an address (CIDR notation).
    public func address(_ cidr: String, on interface: String, in name: String) throws {
        try ip(["-n", namespace(name), "addr", "add", cidr, "dev", interface])
    }

    /// Deletes a host link now (an interface "disappearing"); it stays on the cleanup list.
    public func deleteHostLink(_ name: String) throws {
        try ip(["link", "del", name])
    }

    /// Records a host link created by something else (a TAP device Sidetap made) for cleanup.
    public func adoptHostLink(_ name: String) {
        lock.withLock { hostLinks.append(name) }
    }

    private func quietHostLink(_ name: String) throws {
        let path = "/proc/sys/net/ipv6/conf/\(name)/disable_ipv6"
        if FileManager.default.fileExists(atPath: path) {
            try? "1".write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    /// Removes every namespace and host link this lab created, by name; idempotent.
    public func cleanup() {
        let (links, spaces) = lock.withLock { () -> ([String], [String]) in
            defer { hostLinks.removeAll(); namespaces.removeAll() }
            return (hostLinks, namespaces)
        }
        for link in links.reversed() {
            _ = try? ExternalTool.run(Self.ip, ["link", "del", link], timeout: 10)
        }
        for space in spaces.reversed() {
            _ = try? ExternalTool.run(Self.ip, ["netns", "del", space], timeout: 10)
        }
    }
}
