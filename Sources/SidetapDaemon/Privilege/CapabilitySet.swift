/// A set of Linux capabilities as the kernel writes it in /proc/PID/status (`CapEff:
/// 0000000000003000`): bit n is capability n.
public struct CapabilitySet: Hashable, Sendable, CustomStringConvertible {
    /// The bits, capability n at bit n.
    public var mask: UInt64

    public init(mask: UInt64) {
        self.mask = mask
    }

    /// The set holding `capabilities`.
    public init(_ capabilities: [Capability]) {
        mask = capabilities.reduce(0) { $0 | (1 << UInt64($1.number)) }
    }

    /// Parses the kernel's hexadecimal text (with or without leading zeros); nil when it is not hex.
    public init?(hex text: some StringProtocol) {
        let trimmed = text.trimmingCharacters(in: " \t")
        guard !trimmed.isEmpty, trimmed.utf8.count <= 16, let value = UInt64(trimmed, radix: 16) else { return nil }
        mask = value
    }

    /// The empty set.
    public static let none = CapabilitySet(mask: 0)

    public var isEmpty: Bool { mask == 0 }

    public func contains(_ capability: Capability) -> Bool {
        mask & (1 << UInt64(capability.number)) != 0
    }

    /// The capabilities in the set, lowest number first.
    public var members: [Capability] {
        (0..<64).filter { mask & (1 << UInt64($0)) != 0 }.map { Capability(number: $0) }
    }

    /// Sixteen hexadecimal digits, as /proc shows it.
    public var hex: String {
        let digits = String(mask, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The names (`cap_net_raw,cap_net_admin`), or `none`.
    public var description: String {
        isEmpty ? "none" : members.map(\.name).joined(separator: ",")
    }
}

/// One Linux capability by number (linux/capability.h).
public struct Capability: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The capability's number: CAP_NET_ADMIN is 12, CAP_NET_RAW 13.
    public var number: Int

    public init(number: Int) {
        self.number = number
    }

    /// Firewall, interface and routing configuration (nftables blocks).
    public static let netAdmin = Capability(number: 12)
    /// Raw and packet sockets (live capture, frame injection).
    public static let netRaw = Capability(number: 13)

    /// The lower-case name capsh and getpcaps print (`cap_net_raw`), or `cap_N`.
    public var name: String {
        number < Self.names.count ? "cap_" + Self.names[number] : "cap_\(number)"
    }

    public var description: String { name }

    public static func < (a: Capability, b: Capability) -> Bool { a.number < b.number }

    private static let names = [
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
        "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
        "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
        "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
        "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
        "checkpoint_restore",
    ]
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in characters: String) -> Substring {
        let set = Set(characters)
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return text
    }
}
