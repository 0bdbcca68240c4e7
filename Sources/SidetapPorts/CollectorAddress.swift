#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// Turns a tunnel port's `collector` (an IPv4 or IPv6 address, or a host name) into the
/// address its packets go to. Host names are resolved once, when the port is built.
public enum CollectorAddress {
    /// The collector's address: `text` itself when it is an address, else the first address
    /// getaddrinfo(3) gives for the name (IPv4 preferred when both exist, since GRE
    /// appliances are mostly IPv4). Throws `PortSetupError.invalidSetting` naming the port.
    public static func resolve(_ text: String, port: String) throws(PortSetupError) -> IPAddress {
        if let address = IPAddress(text) { return address }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(text, nil, &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw .invalidSetting(port: port, reason: "collector '\(text)' cannot be resolved: \(reason)")
        }
        defer { freeaddrinfo(list) }
        var found: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = current.pointee.ai_addr.flatMap({ IPAddress(socketAddress: $0) }) { found.append(address) }
            entry = current.pointee.ai_next
        }
        guard let address = found.first(where: \.isIPv4) ?? found.first else {
            throw .invalidSetting(port: port, reason: "collector '\(text)' has no IPv4 or IPv6 address")
        }
        return address
    }
}

extension IPAddress {
    /// The address in a sockaddr_in or sockaddr_in6; nil for other families.
    init?(socketAddress: UnsafePointer<sockaddr>) {
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            let v4 = UnsafeRawPointer(socketAddress).loadUnaligned(as: sockaddr_in.self)
            self.init(ipv4: UInt32(bigEndian: v4.sin_addr.s_addr))
        case AF_INET6:
            let v6 = UnsafeRawPointer(socketAddress).loadUnaligned(as: sockaddr_in6.self)
            var value = v6.sin6_addr
            let (high, low) = withUnsafeBytes(of: &value) { bytes in
                (UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            self.init(high: high, low: low)
        default:
            return nil
        }
    }
}
