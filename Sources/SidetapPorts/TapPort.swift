#if canImport(Glibc)
import Glibc
#endif
import CSidetapLinux
import SidetapCore

/// Creates a TAP device and writes every frame into it, for an appliance attached to the
/// device: a VM or container on a bridge the TAP is a member of, or a network namespace the
/// TAP was moved into (`ip link set DEV netns NS`), where the frames arrive as received
/// traffic on that interface.
///
/// The device is made with IFF_TAP | IFF_NO_PI and is not persistent: it exists while the
/// port is open and the kernel removes it when `close` closes the descriptor. At open IPv6 is
/// turned off on it (so the host sends nothing of its own into the appliance's view) and it
/// is set up. Writes never wait; one the kernel refuses drops that packet with a
/// `PortWriteError` (EIO while the device is down). With no reader the kernel takes the
/// frames and drops them. If someone deletes the device, writes fail (EBADFD) and the next
/// `tick` creates it again. Only Ethernet frames are written (others: EINVAL).
public final class TapPort: Port {
    public let name: String
    /// The TAP device's name (at most 15 bytes).
    public let device: String
    private var descriptor: Int32 = -1
    private var needsRecreate = false
    private let recreations = Counter()

    public init(name: String, device: String) {
        self.name = name
        self.device = device
    }

    /// How many times the device was created again after it vanished. Readable from any thread.
    public var recreateCount: UInt64 { recreations.value }

    public var egress: PortEgress? { PortEgress(port: name, interface: device) }

    public func open(sources: [SourceDescription]) throws {
        guard descriptor < 0 else { throw PortSetupError.invalidSetting(port: name, reason: "opened twice") }
        guard NetworkSocket.validInterfaceName(device) else {
            throw PortSetupError.invalidSetting(port: name, reason: "'\(device)' is not a valid device name (1–15 characters, no '/', ':' or spaces)")
        }
        if if_nametoindex(device) != 0 {
            throw PortSetupError.invalidSetting(
                port: name, reason: "an interface named '\(device)' already exists; a TAP port creates its own device")
        }
        descriptor = try createDevice()
    }

    /// Opens /dev/net/tun, attaches a new TAP device, turns IPv6 off on it and sets it up.
    private func createDevice() throws(SystemError) -> Int32 {
        let tun = Glibc.open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard tun >= 0 else { throw SystemError(code: errno, operation: "open", path: "/dev/net/tun") }
        var actual = [CChar](repeating: 0, count: 16)
        guard CSidetapLinux_tunAttach(tun, device, CSidetapLinux_tapFlags(), &actual) == 0 else {
            let code = errno
            Glibc.close(tun)
            throw SystemError(code: code, operation: "create TAP device (TUNSETIFF)", path: device)
        }
        disableIPv6()
        guard CSidetapLinux_setInterfaceUp(device) == 0 else {
            let code = errno
            Glibc.close(tun)
            throw SystemError(code: code, operation: "set up", path: device)
        }
        return tun
    }

    /// The host would otherwise send router solicitations and MLD reports into the device.
    private func disableIPv6() {
        let path = "/proc/sys/net/ipv6/conf/\(device)/disable_ipv6"
        let file = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard file >= 0 else { return }   // IPv6 not built in: nothing to turn off
        _ = Glibc.write(file, "1", 1)
        Glibc.close(file)
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        try NetworkSocket.checkEthernet(packet)
        guard descriptor >= 0 else { throw PortWriteError(code: needsRecreate ? EBADFD : EBADF, operation: "write") }
        while true {
            if Glibc.write(descriptor, packet.bytes.baseAddress, packet.bytes.count) >= 0 { return }
            let code = errno
            if code == EINTR { continue }
            if code == EBADFD { needsRecreate = true }
            throw PortWriteError(code: code, operation: "write")
        }
    }

    public func flush() throws(PortWriteError) {}

    public func tick(wallNanos: Int64) throws(PortWriteError) {
        guard needsRecreate else { return }
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
        do {
            descriptor = try createDevice()
            needsRecreate = false
            recreations.add()
        } catch {
            throw PortWriteError(code: error.code, operation: "open")
        }
    }

    public func close() throws {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        needsRecreate = false
    }
}
