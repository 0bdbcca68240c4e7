import CPcap
import SidetapCore

/// A live capture handle that is created but not yet capturing (`pcap_create`): its settings
/// can be changed, nothing can be read. `activate()` consumes it and returns the `LiveCapture`,
/// so settings cannot change after activation and reads cannot happen before — the compiler
/// enforces both, because this type is non-copyable.
///
/// On Linux libpcap captures through a memory-mapped PF_PACKET ring: TPACKET_V3 (block ring,
/// blocks handed over when full or when the timeout expires) unless immediate mode is on, in
/// which case libpcap uses TPACKET_V2 (one frame per packet, delivered at once).
public struct InactiveLiveCapture: ~Copyable {
    let handle: PcapHandle
    /// The interface name as given ("any" for all interfaces).
    public let device: String

    /// Creates the handle for `device` (`pcap_create`). A missing interface is only detected at
    /// `activate()`, as libpcap does.
    public init(device: String) throws(PcapError) {
        let (pointer, message) = withErrorBuffer { pcap_create(device, $0) }
        guard let pointer else { throw PcapError(operation: "create \(device)", message: message) }
        self.handle = PcapHandle(pointer)
        self.device = device
    }

    private func check(_ status: Int32, _ what: String) throws(PcapError) {
        guard status == 0 else {
            throw PcapError(operation: "\(what) on \(device)", message: String(cString: pcap_statustostr(status)))
        }
    }

    /// Largest number of bytes kept per packet (`pcap_set_snaplen`).
    public mutating func setSnaplen(_ bytes: Int) throws(PcapError) {
        try check(pcap_set_snaplen(handle.pointer, Int32(clamping: bytes)), "set snaplen")
    }

    /// Promiscuous mode (`pcap_set_promisc`); needs CAP_NET_ADMIN on most interfaces.
    public mutating func setPromiscuous(_ on: Bool) throws(PcapError) {
        try check(pcap_set_promisc(handle.pointer, on ? 1 : 0), "set promiscuous mode")
    }

    /// Immediate mode (`pcap_set_immediate_mode`): every packet is handed over as soon as it
    /// arrives; on Linux this makes libpcap use a TPACKET_V2 ring instead of TPACKET_V3.
    public mutating func setImmediateMode(_ on: Bool) throws(PcapError) {
        try check(pcap_set_immediate_mode(handle.pointer, on ? 1 : 0), "set immediate mode")
    }

    /// Size of the kernel ring in bytes (`pcap_set_buffer_size`).
    public mutating func setBufferSize(_ bytes: Int) throws(PcapError) {
        try check(pcap_set_buffer_size(handle.pointer, Int32(clamping: bytes)), "set buffer size")
    }

    /// Read timeout in milliseconds (`pcap_set_timeout`); with TPACKET_V3 it is the block
    /// retire timeout, the longest a packet waits in a partly filled block.
    public mutating func setTimeout(milliseconds: Int) throws(PcapError) {
        try check(pcap_set_timeout(handle.pointer, Int32(clamping: milliseconds)), "set timeout")
    }

    /// Asks for nanosecond timestamps (`pcap_set_tstamp_precision`). When the platform cannot,
    /// `activate()` still succeeds with microseconds and `LiveCapture.timestampDigits` says 6.
    public mutating func setNanosecondPrecision() throws(PcapError) {
        let status = pcap_set_tstamp_precision(handle.pointer, Int32(PCAP_TSTAMP_PRECISION_NANO))
        if status == PCAP_ERROR_TSTAMP_PRECISION_NOTSUP { return }
        try check(status, "set timestamp precision")
    }

    /// Starts capturing (`pcap_activate`). Failures carry libpcap's message and a `kind`
    /// (no such device, permission denied, interface down); warnings (PCAP_WARNING_*) do not
    /// stop activation and are reported in `LiveCapture.activationWarning`.
    public consuming func activate() throws(PcapError) -> LiveCapture {
        let device = self.device
        let handle = self.handle
        let status = pcap_activate(handle.pointer)
        if status < 0 {
            let detail = handle.lastError
            let error = Self.activationError(status: status, detail: detail, device: device)
            handle.close()
            throw error
        }
        var warning: String? = nil
        if status > 0 {
            let detail = handle.lastError
            let code = String(cString: pcap_statustostr(status))
            warning = detail.isEmpty ? code : "\(code): \(detail)"
        }
        return LiveCapture(handle: handle, device: device, warning: warning)
    }

    /// Turns a negative `pcap_activate` status into an error a person can act on.
    static func activationError(status: Int32, detail: String, device: String) -> PcapError {
        let operation = "open interface \(device)"
        let libpcap = detail.isEmpty ? String(cString: pcap_statustostr(status)) : detail
        switch status {
        case PCAP_ERROR_NO_SUCH_DEVICE:
            return PcapError(operation: operation, message: "no such interface (\(libpcap))", kind: .noSuchDevice)
        case PCAP_ERROR_PERM_DENIED:
            return PcapError(operation: operation,
                             message: "permission denied: live capture needs CAP_NET_RAW (run as root or grant the capability) (\(libpcap))",
                             kind: .permissionDenied)
        case PCAP_ERROR_PROMISC_PERM_DENIED:
            return PcapError(operation: operation,
                             message: "permission denied for promiscuous mode: it needs CAP_NET_ADMIN, or set promisc: false (\(libpcap))",
                             kind: .promiscuousPermissionDenied)
        case PCAP_ERROR_IFACE_NOT_UP:
            return PcapError(operation: operation, message: "the interface is down (\(libpcap))", kind: .interfaceNotUp)
        default:
            return PcapError(operation: operation, message: libpcap)
        }
    }
}
