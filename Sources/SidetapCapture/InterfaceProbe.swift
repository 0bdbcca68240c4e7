#if canImport(Glibc)
import Glibc
#endif

/// Whether a network interface exists right now and whether it is up, read from
/// `/sys/class/net/NAME` (no privilege needed).
public enum InterfaceState: Sendable, Hashable, CustomStringConvertible {
    /// No interface of that name.
    case absent
    /// The interface exists with this index; `up` is its IFF_UP flag.
    case present(index: Int32, up: Bool)

    /// Reads the state of `name`; `any` is always present and up.
    public static func of(_ name: String) -> InterfaceState {
        if name == "any" { return .present(index: 0, up: true) }
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return .absent }
        let index = if_nametoindex(name)
        guard index != 0 else { return .absent }
        let flags = readSysfs("/sys/class/net/\(name)/flags").flatMap { UInt32($0.dropFirst(2), radix: 16) } ?? 0
        return .present(index: Int32(bitPattern: index), up: flags & 1 != 0)
    }

    /// True when the interface exists and is up.
    public var isUp: Bool {
        if case .present(_, let up) = self { return up }
        return false
    }

    public var description: String {
        switch self {
        case .absent: "absent"
        case .present(let index, let up): "present (index \(index), \(up ? "up" : "down"))"
        }
    }

    private static func readSysfs(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].filter { $0 > 0x20 }, as: UTF8.self)
    }
}
