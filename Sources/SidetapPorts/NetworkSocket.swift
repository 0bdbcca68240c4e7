#if canImport(Glibc)
import Glibc
#endif
import CSidetapLinux
import SidetapCore

/// The socket calls the network ports make: creation with the options every send-only socket
/// gets, socket addresses from `IPAddress`, and one send path that retries EINTR and turns
/// every other failure into a `PortWriteError` without waiting.
enum NetworkSocket {
    /// Send buffer every network port asks for: room for bursts without blocking.
    static let sendBufferBytes: Int32 = 4 << 20

    /// A non-blocking, close-on-exec socket; `sendOnly` attaches a filter that accepts
    /// nothing, so a raw socket never queues copies of received packets.
    static func open(family: Int32, type: Int32, protocol: Int32, sendOnly: Bool, what: String) throws(SystemError) -> Int32 {
        let descriptor = socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), `protocol`)
        guard descriptor >= 0 else { throw SystemError(code: errno, operation: "socket", path: what) }
        if sendOnly, CSidetapLinux_dropAllInput(descriptor) != 0 {
            let code = errno
            close(descriptor)
            throw SystemError(code: code, operation: "setsockopt SO_ATTACH_FILTER", path: what)
        }
        var size = sendBufferBytes
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return descriptor
    }

    /// Sets an integer socket option; throws with the option's name.
    static func setOption(_ descriptor: Int32, level: Int32, name: Int32, value: Int32, label: String) throws(SystemError) {
        var value = value
        guard setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SystemError(code: errno, operation: "setsockopt \(label)")
        }
    }

    /// A socket address for `address` (port 0, as raw sockets want), in storage large enough
    /// for either family, and its length.
    static func socketAddress(_ address: IPAddress) -> (storage: sockaddr_storage, length: socklen_t) {
        var storage = sockaddr_storage()
        if address.isIPv4 {
            withUnsafeMutableBytes(of: &storage) { raw in
                var v4 = sockaddr_in()
                v4.sin_family = sa_family_t(AF_INET)
                v4.sin_addr.s_addr = address.ipv4Value.bigEndian
                raw.storeBytes(of: v4, as: sockaddr_in.self)
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
        withUnsafeMutableBytes(of: &storage) { raw in
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &v6.sin6_addr) { bytes in
                bytes.storeBytes(of: address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            raw.storeBytes(of: v6, as: sockaddr_in6.self)
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
    }

    /// sendmsg(2) without waiting, retrying EINTR; a would-block or failed send throws.
    static func send(_ descriptor: Int32, _ message: UnsafePointer<msghdr>) throws(PortWriteError) {
        while true {
            if sendmsg(descriptor, message, Int32(MSG_DONTWAIT)) >= 0 { return }
            let code = errno
            if code != EINTR { throw PortWriteError(code: code, operation: "send") }
        }
    }

    /// send(2) of one buffer without waiting, retrying EINTR.
    static func send(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws(PortWriteError) {
        while true {
            if Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT)) >= 0 { return }
            let code = errno
            if code != EINTR { throw PortWriteError(code: code, operation: "send") }
        }
    }

    /// A frame every frame-carrying port can send: Ethernet link type, at least a header.
    static func checkEthernet(_ packet: OutboundPacket) throws(PortWriteError) {
        guard packet.linkType == .ethernet, packet.bytes.count >= 14 else {
            throw PortWriteError(code: EINVAL, operation: "send")
        }
    }

    /// A valid interface name: 1–15 bytes, no '/', whitespace or ':'; not "." or "..".
    static func validInterfaceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return !bytes.isEmpty && bytes.count <= 15 && name != "." && name != ".."
            && !bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 >= 0x7F })
    }
}
