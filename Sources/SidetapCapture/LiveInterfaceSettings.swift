import SidetapPcap

/// How a live interface source captures: which interface, which direction, and the libpcap
/// settings of its handle(s).
public struct LiveInterfaceSettings: Sendable, Hashable {
    /// Interface name (`vnet3`, `tap0`, `veth12ab`, `br0`) or `any` for every interface.
    public var interface: String
    /// Received packets, sent packets, or both (see `LiveInterfaceSource` for how `both` is
    /// captured on an Ethernet interface).
    public var direction: CaptureDirection = .both
    /// Bytes kept per packet.
    public var snaplen: Int = 262_144
    /// Kernel ring size per handle, in bytes.
    public var bufferBytes: Int = 32 << 20
    /// Promiscuous mode (ignored for `any`, which libpcap cannot put in promiscuous mode).
    public var promiscuous: Bool = true
    /// libpcap immediate mode. Off (default): libpcap uses the TPACKET_V3 block ring, packets
    /// wait at most `blockTimeoutMilliseconds` in a partly filled block. On: TPACKET_V2, one
    /// frame per packet, no block latency, more per-packet work in the kernel and here.
    public var immediate: Bool = false
    /// An optional pcap-filter expression installed in the kernel: packets it rejects are never
    /// copied to user space.
    public var filter: String? = nil
    /// The TPACKET_V3 block retire timeout (`pcap_set_timeout`).
    public var blockTimeoutMilliseconds: Int = 10
    /// First delay before re-opening an interface that went away; doubles per failed attempt.
    public var reopenInitialMilliseconds: Int = 250
    /// Largest delay between re-open attempts.
    public var reopenMaximumMilliseconds: Int = 2000

    public init(interface: String, direction: CaptureDirection = .both, snaplen: Int = 262_144,
                bufferBytes: Int = 32 << 20, promiscuous: Bool = true, immediate: Bool = false,
                filter: String? = nil) {
        self.interface = interface
        self.direction = direction
        self.snaplen = snaplen
        self.bufferBytes = bufferBytes
        self.promiscuous = promiscuous
        self.immediate = immediate
        self.filter = filter
    }

    /// True for the pseudo-interface that captures on every interface.
    public var isAny: Bool { interface == "any" }
}
