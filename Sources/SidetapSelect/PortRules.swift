/// One output port's rules as the config gives them: the rules file's text plus the
/// port-level options.
public struct PortRules: Sendable, Hashable {
    /// The port's name (unique among ports; also salts its sampling).
    public var name: String
    /// Path of the rules file, as shown in errors (`filters/waf.rules`).
    public var rulesFile: String
    /// The rules file's contents.
    public var text: String
    /// Port-level `sample 1/N`: keep one flow in N of those the rules accept.
    public var sample: Int?
    /// Port-level slice: keep at most this many bytes of each packet.
    public var slice: Int?
    /// Balance group: ports naming the same group split the flows between them.
    public var group: String?

    public init(name: String, rulesFile: String, text: String, sample: Int? = nil, slice: Int? = nil, group: String? = nil) {
        self.name = name
        self.rulesFile = rulesFile
        self.text = text
        self.sample = sample
        self.slice = slice
        self.group = group
    }
}

/// A set of output ports (by index in the rule set), as a 64-bit mask.
public struct PortSet: Hashable, Sendable, Sequence, CustomStringConvertible {
    /// Bit `i` set = port `i` takes the packet.
    public var rawValue: UInt64

    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// No port.
    public static let empty = PortSet(rawValue: 0)

    @inlinable public var isEmpty: Bool { rawValue == 0 }
    @inlinable public var count: Int { rawValue.nonzeroBitCount }
    @inlinable public func contains(_ port: Int) -> Bool {
        port >= 0 && port < 64 && rawValue & (1 << UInt64(port)) != 0
    }
    @inlinable public mutating func insert(_ port: Int) {
        precondition(port >= 0 && port < 64, "port index out of range")
        rawValue |= 1 << UInt64(port)
    }

    /// Iterates the port indices in ascending order, without allocating.
    public struct Iterator: IteratorProtocol {
        @usableFromInline var remaining: UInt64
        @inlinable init(_ remaining: UInt64) { self.remaining = remaining }
        @inlinable public mutating func next() -> Int? {
            guard remaining != 0 else { return nil }
            let index = remaining.trailingZeroBitCount
            remaining &= remaining &- 1
            return index
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(rawValue) }

    public var description: String { "[" + map(String.init).joined(separator: ",") + "]" }
}
