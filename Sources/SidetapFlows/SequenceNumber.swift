/// TCP sequence-number comparisons in serial-number arithmetic (RFC 1982, as RFC 793 uses
/// it): numbers wrap at 2³², and `a` is after `b` when it lies less than 2³¹ ahead of it.
public enum SequenceNumber {
    /// True when `a` lies after `b` in sequence space (a wrapped `a` still counts as after).
    @inlinable @inline(__always)
    public static func isAfter(_ a: UInt32, _ b: UInt32) -> Bool {
        Int32(bitPattern: a &- b) > 0
    }
}
