#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// Where a `SocketStreamPort` listens: `tcp://HOST:PORT` (an IPv4 literal, or an IPv6
/// literal in brackets) or `unix:/path.sock`.
public enum SocketListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// A TCP address and port (0 = the kernel picks one; the config requires 1–65535).
    case tcp(IPAddress, port: UInt16)
    /// A Unix stream socket at an absolute or relative path (at most 107 bytes).
    case unix(path: String)

    /// Parses `tcp://127.0.0.1:5555`, `tcp://[::1]:5555` or `unix:/run/sidetap.sock`; the
    /// error text says what is wrong.
    public static func parse(_ text: String) -> Result<SocketListenAddress, ListenAddressError> {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return .failure(ListenAddressError("unix: needs a socket path, as in unix:/run/sidetap.sock")) }
            guard path.utf8.count < 108 else {
                return .failure(ListenAddressError("a Unix socket path must be shorter than 108 bytes, got \(path.utf8.count)"))
            }
            guard !path.utf8.contains(0) else { return .failure(ListenAddressError("the socket path contains a NUL byte")) }
            return .success(.unix(path: path))
        }
        guard text.hasPrefix("tcp://") else {
            return .failure(ListenAddressError("'\(text)' is not tcp://HOST:PORT or unix:/PATH"))
        }
        let rest = text.dropFirst(6)
        let hostText: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                return .failure(ListenAddressError("'\(text)': an IPv6 address goes in brackets, as in tcp://[::1]:5555"))
            }
            hostText = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else {
                return .failure(ListenAddressError("'\(text)' has no port, as in tcp://127.0.0.1:5555"))
            }
            hostText = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
            if hostText.contains(":") {
                return .failure(ListenAddressError("'\(text)': an IPv6 address goes in brackets, as in tcp://[::1]:5555"))
            }
        }
        guard let address = IPAddress(String(hostText)), address.isIPv4 == !rest.hasPrefix("[") else {
            return .failure(ListenAddressError("'\(hostText)' is not an IPv4 address or a bracketed IPv6 address (host names are not accepted)"))
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
              let port = Int(portText), port <= 65535 else {
            return .failure(ListenAddressError("port '\(portText)' in '\(text)' is not a number between 0 and 65535"))
        }
        return .success(.tcp(address, port: UInt16(port)))
    }

    public var description: String {
        switch self {
        case .tcp(let address, let port): address.isIPv4 ? "tcp://\(address):\(port)" : "tcp://[\(address)]:\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// Why a listen address did not parse.
public struct ListenAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
