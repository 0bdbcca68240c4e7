#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// The send side shared by the tunnel ports: one raw IPv4 or IPv6 socket for the outer
/// protocol (the kernel adds the outer IP header and picks the source address by routing),
/// a preallocated header buffer, and a two-part sendmsg (header, then the frame as it is,
/// never copied).
///
/// The socket is not connected: a collector without a route makes each send fail
/// (ENETUNREACH) instead of failing the start, and a route that comes back is used at once.
/// Oversized packets are fragmented by the kernel (path-MTU discovery off), as tunnels
/// carrying full-size frames need.
final class TunnelSender {
    let portName: String
    let collector: IPAddress
    let ipProtocol: Int32
    /// IPv6 UDP only: where the kernel writes the UDP checksum (IPV6_CHECKSUM).
    let checksumOffset: Int32?
    private(set) var descriptor: Int32 = -1
    /// Scratch space for the encapsulation headers of one packet.
    let header = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    private let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: 2)
    private let message = UnsafeMutablePointer<msghdr>.allocate(capacity: 1)
    private let address = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
    /// Outer packets the kernel accepted.
    let sent = Counter()
    /// Packets handed to the port (sent or failed): the port's packet sequence.
    let numbered = Counter()
    private var nextNumber: UInt64 = 0

    init(portName: String, collector: IPAddress, ipProtocol: Int32, checksumOffset: Int32? = nil) {
        self.portName = portName
        self.collector = collector
        self.ipProtocol = ipProtocol
        self.checksumOffset = checksumOffset
        header.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        vectors.initialize(repeating: iovec(), count: 2)
        message.initialize(to: msghdr())
        let (storage, length) = NetworkSocket.socketAddress(collector)
        address.initialize(to: storage)
        message.pointee.msg_name = UnsafeMutableRawPointer(address)
        message.pointee.msg_namelen = length
        message.pointee.msg_iov = vectors
        message.pointee.msg_iovlen = 2
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
        header.deallocate()
        vectors.deallocate()
        message.deallocate()
        address.deallocate()
    }

    var isOpen: Bool { descriptor >= 0 }

    /// Creates the raw socket.
    func open() throws {
        guard descriptor < 0 else { throw PortSetupError.invalidSetting(port: portName, reason: "opened twice") }
        let family = collector.isIPv4 ? AF_INET : AF_INET6
        let what = "port \(portName)"
        let socket = try NetworkSocket.open(
            family: family, type: Int32(SOCK_RAW.rawValue), protocol: ipProtocol, sendOnly: true, what: what)
        do {
            if collector.isIPv4 {
                try NetworkSocket.setOption(socket, level: Int32(IPPROTO_IP), name: Int32(IP_MTU_DISCOVER), value: Int32(IP_PMTUDISC_DONT), label: "IP_MTU_DISCOVER")
            } else {
                try NetworkSocket.setOption(socket, level: Int32(IPPROTO_IPV6), name: Int32(IPV6_MTU_DISCOVER), value: Int32(IPV6_PMTUDISC_DONT), label: "IPV6_MTU_DISCOVER")
                if let checksumOffset {
                    try NetworkSocket.setOption(socket, level: Int32(IPPROTO_IPV6), name: Int32(IPV6_CHECKSUM), value: checksumOffset, label: "IPV6_CHECKSUM")
                }
            }
        } catch {
            Glibc.close(socket)
            throw error
        }
        descriptor = socket
    }

    /// Sends the first `headerLength` bytes of `header` followed by `frame` as one packet.
    func send(headerLength: Int, frame: UnsafeRawBufferPointer) throws(PortWriteError) {
        guard descriptor >= 0 else { throw PortWriteError(code: EBADF, operation: "send") }
        vectors[0] = iovec(iov_base: header, iov_len: headerLength)
        vectors[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: frame.baseAddress), iov_len: frame.count)
        try NetworkSocket.send(descriptor, message)
        sent.add()
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Takes the next packet sequence number (0, 1, …; mod 2³² on the wire) and publishes the
    /// count; called once per packet handed to the port, sent or not, so a collector sees a
    /// gap wherever this side lost one.
    @inline(__always)
    func takeSequenceNumber() -> UInt32 {
        let number = UInt32(truncatingIfNeeded: nextNumber)
        nextNumber &+= 1
        numbered.publish(nextNumber)
        return number
    }

    /// The outer traffic of this tunnel, for the engine's loop guard.
    func egress(destinationPort: UInt16 = 0) -> PortEgress {
        PortEgress(port: portName, tunnel: TunnelTraffic(ipProtocol: UInt8(ipProtocol), collector: collector,
                                                         destinationPort: destinationPort))
    }

}
