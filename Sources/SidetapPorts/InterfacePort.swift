#if canImport(Glibc)
import Glibc
#endif
import CSidetapLinux
import SidetapCore

/// Sends every frame as it is on a network interface: an AF_PACKET raw socket bound to the
/// interface, one send per packet. An appliance on the wire (or a VM behind a bridge, or the
/// far end of a veth) sees exactly the captured frames.
///
/// The socket is bound with protocol 0, so it receives nothing. Sends never wait: a full
/// queue (ENOBUFS/EAGAIN), an interface that is down (ENETDOWN) or too large a frame
/// (EMSGSIZE) drops that packet with a `PortWriteError`. When the interface disappears,
/// sends fail (ENXIO/ENODEV) and every `tick` looks the name up again, rebinding to the new
/// interface as soon as one with that name exists. Only Ethernet frames are sent; packets of
/// other link types (raw IP, Linux cooked) fail with EINVAL and are not converted.
public final class InterfacePort: Port {
    public let name: String
    /// The interface written to.
    public let interface: String
    private var descriptor: Int32 = -1
    private var boundIndex: Int32 = 0
    /// Set by a send that says the interface is gone; the next tick looks the name up again.
    private var needsLookup = false
    private let rebinds = Counter()

    public init(name: String, interface: String) {
        self.name = name
        self.interface = interface
    }

    /// How many times the port rebound to a re-created interface. Readable from any thread.
    public var rebindCount: UInt64 { rebinds.value }

    public var egress: PortEgress? { PortEgress(port: name, interface: interface) }

    public func open(sources: [SourceDescription]) throws {
        guard descriptor < 0 else { throw PortSetupError.invalidSetting(port: name, reason: "opened twice") }
        guard NetworkSocket.validInterfaceName(interface) else {
            throw PortSetupError.invalidSetting(port: name, reason: "'\(interface)' is not a valid interface name")
        }
        let index = Int32(bitPattern: if_nametoindex(interface))
        guard index > 0 else {
            throw PortSetupError.invalidSetting(port: name, reason: "interface '\(interface)' does not exist")
        }
        descriptor = try NetworkSocket.open(family: AF_PACKET, type: Int32(SOCK_RAW.rawValue), protocol: 0,
                                            sendOnly: false, what: "port \(name)")
        guard bind(to: index) else {
            let code = errno
            Glibc.close(descriptor)
            descriptor = -1
            throw SystemError(code: code, operation: "bind", path: interface)
        }
    }

    private func bind(to index: Int32) -> Bool {
        let result = CSidetapLinux_bindPacketSocket(descriptor, index)
        guard result == 0 else { return false }
        boundIndex = index
        return true
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        try NetworkSocket.checkEthernet(packet)
        guard boundIndex > 0 else { throw PortWriteError(code: ENODEV, operation: "send") }
        do throws(PortWriteError) {
            try NetworkSocket.send(descriptor, packet.bytes)
        } catch {
            if error.code == ENXIO || error.code == ENODEV || error.code == ENETDOWN { needsLookup = true }
            throw error
        }
    }

    public func flush() throws(PortWriteError) {}

    public func tick(wallNanos: Int64) throws(PortWriteError) {
        guard descriptor >= 0, needsLookup || boundIndex == 0 else { return }
        let index = Int32(bitPattern: if_nametoindex(interface))
        guard index > 0 else {
            boundIndex = 0
            return
        }
        needsLookup = false
        // Rebind even to the same index: a socket whose interface vanished is unbound.
        let previous = boundIndex
        guard bind(to: index) else {
            boundIndex = 0
            throw PortWriteError(code: errno, operation: "bind")
        }
        if index != previous { rebinds.add() }
    }

    public func close() throws {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        boundIndex = 0
    }
}
