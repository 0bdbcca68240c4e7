import CPcap
import SidetapCore
#if canImport(Glibc)
import Glibc
#endif

/// An activated live capture (`pcap_activate` succeeded): packets can be read, the settings
/// chosen before activation are fixed. Made by `InactiveLiveCapture.activate()`.
///
/// One thread reads it; `breakLoop()` may be called from another. `close()` is idempotent and
/// also runs on deinit.
public final class LiveCapture: @unchecked Sendable {
    let handle: PcapHandle
    /// The interface name.
    public let device: String
    /// Link type of every packet (`pcap_datalink`), updated by `setLinkType`.
    public private(set) var linkType: LinkType
    /// Bytes kept per packet (`pcap_snapshot`).
    public let snaplen: Int
    /// 9 when timestamps are in nanoseconds, 6 when libpcap could only give microseconds.
    public let timestampDigits: Int
    /// The warning `pcap_activate` returned (PCAP_WARNING_*), with libpcap's text, if any.
    public let activationWarning: String?
    @usableFromInline let nanosPerTick: Int64

    init(handle: PcapHandle, device: String, warning: String?) {
        self.handle = handle
        self.device = device
        self.activationWarning = warning
        let pointer = handle.pointer
        self.linkType = LinkType(dlt: pcap_datalink(pointer))
        self.snaplen = Int(pcap_snapshot(pointer))
        let nano = pcap_get_tstamp_precision(pointer) == Int32(PCAP_TSTAMP_PRECISION_NANO)
        self.timestampDigits = nano ? 9 : 6
        self.nanosPerTick = nano ? 1 : 1000
    }

    deinit { close() }

    /// True until `close()`.
    public var isOpen: Bool { handle.pointer != nil }

    private func pointer(_ operation: String) throws(PcapError) -> OpaquePointer {
        guard let pointer = handle.pointer else { throw PcapError(operation: operation, message: "the capture on \(device) is closed") }
        return pointer
    }

    /// Keeps only packets received by (`.in`), sent by (`.out`) or crossing (`.both`) the
    /// interface (`pcap_setdirection`).
    public func setDirection(_ direction: CaptureDirection) throws(PcapError) {
        let p = try pointer("set direction")
        guard pcap_setdirection(p, direction.pcapValue) == 0 else {
            throw PcapError(operation: "set direction \(direction.rawValue) on \(device)", message: handle.lastError)
        }
    }

    /// Compiles a pcap-filter (tcpdump syntax) expression for this handle and installs it in
    /// the kernel (`pcap_compile` + `pcap_setfilter`); returns the program's instruction count.
    @discardableResult
    public func setFilter(_ expression: String) throws(PcapError) -> Int {
        let p = try pointer("set filter")
        var program = bpf_program()
        guard pcap_compile(p, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw PcapError(operation: "compile filter '\(expression)' for \(device)", message: handle.lastError)
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(p, &program) == 0 else {
            throw PcapError(operation: "set filter on \(device)", message: handle.lastError)
        }
        return Int(program.bf_len)
    }

    /// Compiles `expression` for this handle and attaches it to the capture socket directly
    /// (setsockopt SO_ATTACH_FILTER), leaving libpcap's own filter as it is; returns the
    /// instruction count.
    ///
    /// This is for kernel-only primitives such as `inbound` and `outbound` (a load of the
    /// socket's packet type that user-space BPF cannot evaluate): `setFilter` would make
    /// libpcap re-filter the packets already in the ring in user space, where such a program
    /// rejects everything and the first packets would be lost. Packets captured before the
    /// attach are left to `setDirection` and to the filter given to `setFilter`, if any.
    @discardableResult
    public func attachKernelFilter(_ expression: String) throws(PcapError) -> Int {
        let p = try pointer("attach kernel filter")
        var program = bpf_program()
        guard pcap_compile(p, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw PcapError(operation: "compile filter '\(expression)' for \(device)", message: handle.lastError)
        }
        defer { pcap_freecode(&program) }
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the length at
        // offset 0, the pointer at the next pointer-aligned offset. bpf_insn and sock_filter
        // have the same layout.
        var fprog = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &fprog) { raw in
            raw.storeBytes(of: UInt16(program.bf_len), toByteOffset: 0, as: UInt16.self)
            raw.storeBytes(of: UnsafeMutableRawPointer(program.bf_insns), toByteOffset: MemoryLayout<UnsafeRawPointer>.stride, as: UnsafeMutableRawPointer?.self)
        }
        // SOL_SOCKET = 1, SO_ATTACH_FILTER = 26 (asm-generic/socket.h).
        let status = withUnsafeBytes(of: &fprog) { raw in
            setsockopt(pcap_get_selectable_fd(p), 1, 26, raw.baseAddress, socklen_t(raw.count))
        }
        guard status == 0 else {
            throw PcapError(operation: "attach kernel filter '\(expression)' on \(device)", message: SystemError.message(errno))
        }
        return Int(program.bf_len)
    }

    /// Changes the link type (`pcap_set_datalink`), for interfaces that offer several
    /// (`any` gives LINUX_SLL or LINUX_SLL2).
    public func setLinkType(_ type: LinkType) throws(PcapError) {
        let p = try pointer("set link type")
        guard pcap_set_datalink(p, type.dlt) == 0 else {
            throw PcapError(operation: "set link type \(type) on \(device)", message: handle.lastError)
        }
        linkType = LinkType(dlt: pcap_datalink(p))
    }

    /// The link types the interface offers (`pcap_list_datalinks`).
    public var availableLinkTypes: [LinkType] {
        guard let p = handle.pointer else { return [] }
        var list: UnsafeMutablePointer<Int32>?
        let count = pcap_list_datalinks(p, &list)
        guard count > 0, let list else { return [] }
        defer { pcap_free_datalinks(list) }
        return (0..<Int(count)).map { LinkType(dlt: list[$0]) }
    }

    /// Non-blocking mode (`pcap_setnonblock`): reads return at once when nothing is ready.
    public func setNonblocking(_ on: Bool) throws(PcapError) {
        let p = try pointer("set non-blocking")
        let (status, message) = withErrorBuffer { pcap_setnonblock(p, on ? 1 : 0, $0) }
        guard status == 0 else { throw PcapError(operation: "set non-blocking on \(device)", message: message) }
    }

    /// A descriptor that poll(2) reports readable when packets are waiting
    /// (`pcap_get_selectable_fd`), or -1 once closed.
    public var selectableDescriptor: Int32 {
        guard let p = handle.pointer else { return -1 }
        return pcap_get_selectable_fd(p)
    }

    /// The PF_PACKET ring version libpcap set up on Linux (1 = TPACKET_V2, 2 = TPACKET_V3),
    /// read with getsockopt(PACKET_VERSION); nil when it cannot be read.
    public var packetRingVersion: Int? {
        let fd = selectableDescriptor
        guard fd >= 0 else { return nil }
        var version: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        // SOL_PACKET = 263, PACKET_VERSION = 10 (linux/if_packet.h).
        guard getsockopt(fd, 263, 10, &version, &length) == 0 else { return nil }
        return Int(version)
    }

    /// Takes the error the kernel left on the capture socket (SO_ERROR, which clears it):
    /// ENETDOWN when the interface went down or was deleted. 0 when there is none.
    public func takeSocketError() -> Int32 {
        let fd = selectableDescriptor
        guard fd >= 0 else { return 0 }
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    /// What one `dispatch` did.
    public enum DispatchOutcome: Sendable, Equatable {
        /// This many packets were delivered (0 when none were waiting).
        case packets(Int)
        /// `breakLoop()` stopped the read.
        case broken
        /// libpcap failed (the interface went away, a socket error); its message.
        case error(String)
    }

    /// The Swift side of the libpcap callback: the body to call and the tick scale.
    @usableFromInline struct DispatchContext {
        @usableFromInline var body: (CapturedPacket) -> Void
        @usableFromInline var nanosPerTick: Int64
        @usableFromInline init(body: @escaping (CapturedPacket) -> Void, nanosPerTick: Int64) {
            self.body = body
            self.nanosPerTick = nanosPerTick
        }
    }

    /// Delivers up to `limit` waiting packets to `body` (`pcap_dispatch`). The bytes live in
    /// the kernel ring and are valid only during the call to `body`; timestamps are in
    /// nanoseconds. In non-blocking mode returns `.packets(0)` at once when nothing waits.
    public func dispatch(limit: Int, _ body: (CapturedPacket) -> Void) -> DispatchOutcome {
        guard let p = handle.pointer else { return .error("the capture on \(device) is closed") }
        let result: Int32 = withoutActuallyEscaping(body) { escaping in
            var context = DispatchContext(body: escaping, nanosPerTick: nanosPerTick)
            return withUnsafeMutablePointer(to: &context) { contextPointer in
                pcap_dispatch(p, Int32(clamping: limit), { user, header, bytes in
                    let context = UnsafeMutableRawPointer(user!).assumingMemoryBound(to: DispatchContext.self)
                    let h = header!.pointee
                    let nanos = Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec) * context.pointee.nanosPerTick
                    let packet = CapturedPacket(bytes: UnsafeRawBufferPointer(start: bytes, count: Int(h.caplen)),
                                                wireLength: max(h.len, h.caplen), timestampNanos: nanos)
                    context.pointee.body(packet)
                }, UnsafeMutableRawPointer(contextPointer).assumingMemoryBound(to: UInt8.self))
            }
        }
        if result >= 0 { return .packets(Int(result)) }
        if result == PCAP_ERROR_BREAK { return .broken }
        return .error(handle.lastError)
    }

    /// What one `next()` read.
    public enum Next {
        /// A packet; its bytes are libpcap's copy and stay valid until the next `next()` or
        /// `dispatch` on this capture.
        case packet(CapturedPacket)
        /// Nothing waiting (non-blocking mode) or the timeout expired.
        case none
        /// `breakLoop()` stopped the read.
        case broken
        /// libpcap failed; its message.
        case error(String)
    }

    /// Reads one packet (`pcap_next_ex`). Unlike `dispatch`, the bytes outlive the call until
    /// the next read of this capture, which lets a reader hold the head packets of two
    /// captures at once and merge them in timestamp order.
    public func next() -> Next {
        guard let p = handle.pointer else { return .error("the capture on \(device) is closed") }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(p, &header, &data) {
        case 1:
            let h = header!.pointee
            let nanos = Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec) * nanosPerTick
            return .packet(CapturedPacket(bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)),
                                          wireLength: max(h.len, h.caplen), timestampNanos: nanos))
        case 0:
            return .none
        case PCAP_ERROR_BREAK:
            return .broken
        default:
            return .error(handle.lastError)
        }
    }

    /// Kernel counters since activation (`pcap_stats`).
    public struct Statistics: Sendable, Equatable {
        /// ps_recv: packets that passed the filter (on Linux, including those then dropped).
        public var received: UInt64
        /// ps_drop: packets dropped because the ring was full.
        public var dropped: UInt64
        /// ps_ifdrop: packets the interface or its driver dropped.
        public var interfaceDropped: UInt64

        public init(received: UInt64 = 0, dropped: UInt64 = 0, interfaceDropped: UInt64 = 0) {
            self.received = received
            self.dropped = dropped
            self.interfaceDropped = interfaceDropped
        }
    }

    /// Reads the kernel counters (`pcap_stats`); call it from the reading thread.
    public func statistics() throws(PcapError) -> Statistics {
        let p = try pointer("read statistics")
        var stat = pcap_stat()
        guard pcap_stats(p, &stat) == 0 else {
            throw PcapError(operation: "read statistics of \(device)", message: handle.lastError)
        }
        return Statistics(received: UInt64(stat.ps_recv), dropped: UInt64(stat.ps_drop), interfaceDropped: UInt64(stat.ps_ifdrop))
    }

    /// Makes a running `dispatch` or `next` return `.broken` (`pcap_breakloop`); safe from
    /// another thread.
    public func breakLoop() {
        if let p = handle.pointer { pcap_breakloop(p) }
    }

    /// Stops capturing and frees the ring (`pcap_close`).
    public func close() { handle.close() }
}
