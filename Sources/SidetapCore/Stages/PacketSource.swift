/// What a source is, as the rest of the engine sees it.
public struct SourceDescription: Sendable, Hashable {
    /// The source's name from the config (unique).
    public var name: String
    /// The guest this source belongs to, if any (rules match on it; labels attach to it).
    public var guest: String?
    /// Link type of every packet the source delivers.
    public var linkType: LinkType
    /// Largest number of bytes captured per packet.
    public var snaplen: Int
    /// Timestamp resolution of the underlying capture, in fractional digits (6 or 9).
    public var timestampDigits: Int
    /// Human-readable origin: a file path or "interface NAME".
    public var origin: String
    /// The interface a live source captures on ("any" for all of them); nil for files.
    public var interface: String?

    public init(name: String, guest: String? = nil, linkType: LinkType, snaplen: Int, timestampDigits: Int = 9, origin: String,
                interface: String? = nil) {
        self.name = name
        self.guest = guest
        self.linkType = linkType
        self.snaplen = snaplen
        self.timestampDigits = timestampDigits
        self.origin = origin
        self.interface = interface
    }
}

/// What one `poll` of a source produced.
public enum SourcePoll: Sendable, Equatable {
    /// This many packets were delivered.
    case delivered(Int)
    /// Nothing arrived within the source's timeout; poll again.
    case idle
    /// The source has no more packets (end of a file).
    case endOfInput
}

/// Counters a source keeps; read from other threads.
public struct SourceStatistics: Sendable, Equatable {
    /// Packets delivered to the engine.
    public var delivered: UInt64 = 0
    /// Packets the kernel dropped before the capture saw them (pcap_stats ps_drop).
    public var kernelDropped: UInt64 = 0
    /// Packets dropped by the interface/driver (pcap_stats ps_ifdrop).
    public var interfaceDropped: UInt64 = 0
    /// Read errors met (a truncated file ends with one).
    public var errors: UInt64 = 0
    public init() {}
}

/// A producer of captured packets: a file, a live interface, a scripted test source.
///
/// A source is driven from one thread: `open`, then `poll` repeatedly, then `close`.
/// `stop()` may be called from any thread to make a blocked `poll` return soon.
public protocol PacketSource: AnyObject {
    /// Name, guest, link type and snaplen.
    var description: SourceDescription { get }
    /// True when delivered bytes stay valid until `close` (an mmap'ed file): the engine then
    /// passes pointers to ports instead of copying.
    var bytesOutliveDelivery: Bool { get }
    /// Opens the underlying capture.
    func open() throws
    /// Delivers up to `limit` packets to `deliver`, in capture order.
    func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll
    /// Asks a blocked `poll` to return; safe from any thread.
    func stop()
    /// Releases the capture; bytes of earlier deliveries become invalid.
    func close()
    /// Current counters.
    var statistics: SourceStatistics { get }
    /// The last non-fatal problem (a truncated file, a read error), for reports.
    var lastProblem: String? { get }
    /// For a source whose bytes outlive delivery: after a batch, the engine names the oldest
    /// delivered bytes a port may still read (nil: none), so the source may give back what
    /// lies before them (a mapped file takes those pages' table entries down early). Called
    /// on the polling thread; the default does nothing.
    func deliveredBytesInUse(from oldest: UnsafeRawPointer?)
}

extension PacketSource {
    public func deliveredBytesInUse(from oldest: UnsafeRawPointer?) {}
}
