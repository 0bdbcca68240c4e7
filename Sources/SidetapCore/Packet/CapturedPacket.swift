/// One packet as a source delivers it: a view of bytes owned by the source.
///
/// The bytes are valid only for the duration of the delivery callback unless the source says
/// `bytesOutliveDelivery` (an mmap'ed file keeps them for as long as it is open).
public struct CapturedPacket: @unchecked Sendable {
    /// The captured bytes (`caplen` of them).
    public var bytes: UnsafeRawBufferPointer
    /// The packet's length on the wire (`len`), at least `bytes.count`.
    public var wireLength: UInt32
    /// Capture time, nanoseconds since the Unix epoch.
    public var timestampNanos: Int64
    /// Index of the delivering source in the engine's source table.
    public var sourceIndex: UInt16
    /// Direction, when the source knows it (live capture direction, SLL packet type).
    public var direction: PacketDirection

    public init(
        bytes: UnsafeRawBufferPointer, wireLength: UInt32, timestampNanos: Int64,
        sourceIndex: UInt16 = 0, direction: PacketDirection = .unknown
    ) {
        self.bytes = bytes
        self.wireLength = wireLength
        self.timestampNanos = timestampNanos
        self.sourceIndex = sourceIndex
        self.direction = direction
    }
}

/// A packet on its way out of a port: possibly sliced bytes plus the original wire length.
public struct OutboundPacket: @unchecked Sendable {
    /// Bytes to write (already sliced when the port or rule slices).
    public var bytes: UnsafeRawBufferPointer
    /// The original packet's length on the wire.
    public var wireLength: UInt32
    /// Capture time, nanoseconds since the Unix epoch.
    public var timestampNanos: Int64
    /// Index of the source the packet came from.
    public var sourceIndex: UInt16
    /// The link type of `bytes`.
    public var linkType: LinkType

    public init(
        bytes: UnsafeRawBufferPointer, wireLength: UInt32, timestampNanos: Int64,
        sourceIndex: UInt16, linkType: LinkType
    ) {
        self.bytes = bytes
        self.wireLength = wireLength
        self.timestampNanos = timestampNanos
        self.sourceIndex = sourceIndex
        self.linkType = linkType
    }
}
