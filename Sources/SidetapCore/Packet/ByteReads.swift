/// Bounds-checked big-endian reads over captured bytes.
///
/// Every decode path goes through these: a read past the end returns nil instead of trapping,
/// so a truncated or malformed packet can never read out of bounds.
extension UnsafeRawBufferPointer {
    @inlinable
    public func u8(at offset: Int) -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return self[offset]
    }

    @inlinable
    public func u16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset &+ 2 <= count else { return nil }
        return UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    public func u32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset &+ 4 <= count else { return nil }
        return UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable
    public func u64(at offset: Int) -> UInt64? {
        guard offset >= 0, offset &+ 8 <= count else { return nil }
        return UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes from `offset` to the end, or nil when `offset` is past the end.
    @inlinable
    public func suffix(from offset: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, offset <= count else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[offset...])
    }
}

extension UnsafeRawBufferPointer {
    /// Big-endian reads at offsets a view has already checked against its minimum length:
    /// no bounds test and no optional, so the tiny header accessors inline to one load.
    @inlinable @inline(__always)
    func be16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    func be32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    func be64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
