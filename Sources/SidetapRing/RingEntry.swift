/// One packet in a ring: where its bytes are and what the port needs to frame it.
///
/// `bytes` points either into the ring's own arena (the packet was copied) or into memory the
/// source keeps valid until it closes (an mmap'ed file), so no copy was needed.
public struct RingEntry: @unchecked Sendable {
    /// Start of the captured bytes.
    public var bytes: UnsafeRawPointer?
    /// Number of bytes to write (already sliced).
    public var length: UInt32
    /// Length of the packet on the wire.
    public var wireLength: UInt32
    /// Capture time, nanoseconds since the Unix epoch.
    public var timestampNanos: Int64
    /// Index of the source in the engine's source table.
    public var sourceIndex: UInt16
    /// Arena position (cumulative bytes) once this entry is released; the consumer hands it
    /// back so the producer may reuse the arena up to here.
    @usableFromInline var arenaEnd: UInt64

    @inlinable
    init(bytes: UnsafeRawPointer?, length: UInt32, wireLength: UInt32, timestampNanos: Int64, sourceIndex: UInt16, arenaEnd: UInt64) {
        self.bytes = bytes
        self.length = length
        self.wireLength = wireLength
        self.timestampNanos = timestampNanos
        self.sourceIndex = sourceIndex
        self.arenaEnd = arenaEnd
    }

    /// The packet bytes as a buffer.
    @inlinable
    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: bytes, count: Int(length)) }
}
