/// A write failure, without allocation: the errno and the operation that failed.
public struct PortWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `errno` of the failed call.
    public var code: Int32
    /// What was being done ("write", "open", "rename").
    public var operation: StaticString

    public init(code: Int32, operation: StaticString) {
        self.code = code
        self.operation = operation
    }

    public static func == (a: PortWriteError, b: PortWriteError) -> Bool {
        a.code == b.code && a.operation.description == b.operation.description
    }

    public var description: String { "\(operation): \(SystemError.message(code))" }
}

/// An output port's writer: framing plus the write to a file, socket, device or nowhere.
///
/// Deciding whether a port sees a packet is the selector's job and pacing is the token
/// bucket's; a `Port` only writes. All methods are called from the port's own worker thread.
public protocol Port: AnyObject {
    /// The port's name from the config.
    var name: String { get }
    /// Prepares to write packets from these sources (indexed by `OutboundPacket.sourceIndex`).
    /// May block (a FIFO waiting for its reader); the worker thread absorbs that.
    func open(sources: [SourceDescription]) throws
    /// Writes one packet. A failure drops that packet only; the port stays usable.
    func write(_ packet: OutboundPacket) throws(PortWriteError)
    /// Pushes buffered bytes out; called when the port's ring runs empty.
    func flush() throws(PortWriteError)
    /// Called about every 100 ms with the wall clock, traffic or not (time-based rotation).
    func tick(wallNanos: Int64) throws(PortWriteError)
    /// Flushes and closes everything; after this the port writes nothing more.
    func close() throws
    /// Packets `write` accepted into a buffer that a later flush failed to deliver (the
    /// engine moves them from "sent" to "write error"). Readable from any thread.
    var lostPackets: UInt64 { get }
    /// What the port's own output looks like (its interface, its tunnel's outer packets), so
    /// the engine can keep it out of capture and selection; nil for ports that write files.
    var egress: PortEgress? { get }
    /// For ports that number their packets on the wire (ERSPAN's sequence field; VXLAN and GRE
    /// count the same way): packets numbered so far, sent or failed, so an appliance comparing
    /// the numbers it received with this sees exactly what it missed. Nil for other ports.
    var packetSequence: UInt64? { get }
    /// For ports serving readers (socket ports): who is connected and what slow readers skipped.
    var readerStatistics: ReaderStatistics? { get }
    /// True when `write` only queues packets and `flush` puts them on the wire together (an
    /// interface port's `sendmmsg` batches): a rate-limited port then accounts for them
    /// leaving at the flush (`TokenBucket.sentTogether`), so a flush delayed by the scheduler
    /// cannot turn into a burst larger than the bucket.
    var sendsOnFlush: Bool { get }
}

extension Port {
    /// Ports that write synchronously lose nothing after `write` returns.
    public var lostPackets: UInt64 { 0 }
    /// Ports writing files or pipes put nothing on the network.
    public var egress: PortEgress? { nil }
    /// Ports that do not number their packets.
    public var packetSequence: UInt64? { nil }
    /// Ports without readers.
    public var readerStatistics: ReaderStatistics? { nil }
    /// Ports whose packets leave in `write` (or whose flush timing does not matter on a wire).
    public var sendsOnFlush: Bool { false }
}

/// The readers of a port that serves a stream (a socket port): readers connected now, readers
/// accepted and refused since start, and packets readers skipped because their buffer was full
/// (summed over readers; a packet is still "sent" when at least one reader took it).
public struct ReaderStatistics: Sendable, Codable, Equatable {
    public var connected: UInt64
    public var accepted: UInt64
    public var rejected: UInt64
    public var skippedPackets: UInt64

    public init(connected: UInt64, accepted: UInt64, rejected: UInt64, skippedPackets: UInt64) {
        self.connected = connected
        self.accepted = accepted
        self.rejected = rejected
        self.skippedPackets = skippedPackets
    }
}
