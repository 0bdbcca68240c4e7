/// The Internet checksum (RFC 1071): the ones'-complement of the ones'-complement sum of
/// 16-bit big-endian words.
public enum InternetChecksum {
    /// Adds the bytes to a running (unfolded) sum. An odd trailing byte counts as the high
    /// byte of a final word, so only the last chunk of a message may have odd length.
    @inlinable
    public static func add(_ bytes: UnsafeRawBufferPointer, to initial: UInt64 = 0) -> UInt64 {
        var sum = initial
        var index = 0
        let count = bytes.count
        // Eight bytes at a time: the two 32-bit halves fold to the same 16-bit sum.
        while index &+ 8 <= count {
            let word = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            sum &+= (word >> 32) &+ (word & 0xFFFF_FFFF)
            index &+= 8
        }
        while index &+ 2 <= count {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index &+ 1])
            index &+= 2
        }
        if index < count { sum &+= UInt64(bytes[index]) << 8 }
        return sum
    }

    /// Folds a running sum to 16 bits and complements it: the value to store in a header.
    @inlinable
    public static func finish(_ sum: UInt64) -> UInt16 {
        var folded = sum
        while folded >> 16 != 0 { folded = (folded & 0xFFFF) &+ (folded >> 16) }
        return ~UInt16(truncatingIfNeeded: folded)
    }

    /// The checksum of `bytes` alone.
    @inlinable
    public static func compute(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        finish(add(bytes))
    }
}
