/// Comparisons whose running time does not depend on where two secrets first differ.
public enum ConstantTime {
    /// True when `a` and `b` are equal; for equal lengths every byte is examined.
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
