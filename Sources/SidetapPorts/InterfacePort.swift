#if canImport(Glibc)
import Glibc
#endif
import CSidetapLinux
import SidetapCore

/// Sends every frame as it is on a network interface: an AF_PACKET raw socket bound to the
/// interface. An appliance on the wire (or a VM behind a bridge, or the far end of a veth)
/// sees exactly the captured frames.
///
/// Frames are sent in batches: `write` copies a frame into a preallocated batch (up to
/// `batchSize` frames of at most `batchSlotBytes`; a larger frame first sends the batch, then
/// goes alone), and a full batch or `flush` (the port worker flushes whenever its rings run
/// empty) sends it with one `sendmmsg(2)`. The socket skips the kernel's queueing discipline
/// (`PACKET_QDISC_BYPASS`) when the kernel allows it: Sidetap's own rate control shapes the
/// port, and the frames go to the driver directly.
///
/// The socket is bound with protocol 0, so it receives nothing. Sends never wait: a full
/// queue (ENOBUFS/EAGAIN), an interface that is down (ENETDOWN) or too large a frame
/// (EMSGSIZE) drops that frame; batched frames that fail count in `lostPackets` and the flush
/// reports the error. When the interface disappears, sends fail (ENXIO/ENODEV) and every
/// `tick` looks the name up again, rebinding to the new interface as soon as one with that
/// name exists. Only Ethernet frames are sent; packets of other link types (raw IP, Linux
/// cooked) fail with EINVAL and are not converted.
public final class InterfacePort: Port {
    public let name: String
    /// The interface written to.
    public let interface: String
    private var descriptor: Int32 = -1
    private var boundIndex: Int32 = 0
    /// Set by a send that says the interface is gone; the next tick looks the name up again.
    private var needsLookup = false
    private let rebinds = Counter()
    private let lost = Counter()
    /// True when the socket bypasses the queueing discipline.
    public private(set) var bypassesQdisc = false

    /// Frames per `sendmmsg` call.
    public static let batchSize = 64
    /// Largest frame that is batched (a copy); larger ones are sent on their own.
    public static let batchSlotBytes = 2048
    private let batchBytes: UnsafeMutableRawPointer
    private let batchFrames: UnsafeMutablePointer<UnsafeRawPointer?>
    private let batchLengths: UnsafeMutablePointer<UInt32>
    private var batched = 0

    public init(name: String, interface: String) {
        self.name = name
        self.interface = interface
        batchBytes = .allocate(byteCount: Self.batchSize * Self.batchSlotBytes, alignment: 64)
        batchFrames = .allocate(capacity: Self.batchSize)
        batchLengths = .allocate(capacity: Self.batchSize)
        for i in 0..<Self.batchSize {
            batchFrames[i] = UnsafeRawPointer(batchBytes + i * Self.batchSlotBytes)
        }
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
        batchBytes.deallocate()
        batchFrames.deallocate()
        batchLengths.deallocate()
    }

    /// Frames that were batched (and counted as written) but that the kernel refused when the
    /// batch went out. Readable from any thread.
    public var lostPackets: UInt64 { lost.value }

    /// How many times the port rebound to a re-created interface. Readable from any thread.
    public var rebindCount: UInt64 { rebinds.value }

    public var egress: PortEgress? { PortEgress(port: name, interface: interface) }

    /// Frames wait in the batch until `flush` (or a full batch) sends them with `sendmmsg`.
    public var sendsOnFlush: Bool { true }

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
        bypassesQdisc = CSidetapLinux_bypassQdisc(descriptor) == 0
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
        let count = packet.bytes.count
        guard count <= Self.batchSlotBytes else {
            try flush()
            do throws(PortWriteError) {
                try NetworkSocket.send(descriptor, packet.bytes)
            } catch {
                noteFailure(error.code)
                throw error
            }
            return
        }
        (batchBytes + batched * Self.batchSlotBytes).copyMemory(from: packet.bytes.baseAddress!, byteCount: count)
        batchLengths[batched] = UInt32(count)
        batched += 1
        if batched == Self.batchSize { try flush() }
    }

    /// Sends the batched frames. A frame the kernel refuses is lost (counted) and the rest of
    /// the batch still goes; the error of the last refused frame is thrown.
    public func flush() throws(PortWriteError) {
        var start = 0
        var failure: PortWriteError?
        while start < batched {
            let sent = CSidetapLinux_sendFrames(descriptor, batchFrames + start, batchLengths + start, UInt32(batched - start))
            if sent > 0 {
                start += Int(sent)
                continue
            }
            let code = sent < 0 ? errno : EAGAIN
            failure = PortWriteError(code: code, operation: "send")
            noteFailure(code)
            if needsLookup || boundIndex == 0 {
                lost.add(UInt64(batched - start))   // the interface is gone: the rest cannot go either
                break
            }
            lost.add()
            start += 1
        }
        batched = 0
        if let failure { throw failure }
    }

    private func noteFailure(_ code: Int32) {
        if code == ENXIO || code == ENODEV || code == ENETDOWN { needsLookup = true }
    }

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
        if descriptor >= 0 { try? flush() }
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        boundIndex = 0
    }
}
