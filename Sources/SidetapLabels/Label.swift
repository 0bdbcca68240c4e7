/// A set of compartments: bit `n` is compartment number `n` (0–127).
public struct CompartmentSet: Sendable, Hashable {
    public var low: UInt64
    public var high: UInt64

    /// The most compartments a label-encodings file can declare.
    public static let capacity = 128

    @inlinable
    public init(low: UInt64 = 0, high: UInt64 = 0) {
        self.low = low
        self.high = high
    }

    /// The empty set.
    public static let none = CompartmentSet()

    /// A set of the given compartment numbers (each 0–127).
    public init(_ bits: some Sequence<Int>) {
        self.init()
        for bit in bits { insert(bit) }
    }

    public mutating func insert(_ bit: Int) {
        precondition(bit >= 0 && bit < Self.capacity, "compartment number out of range")
        if bit < 64 { low |= 1 << UInt64(bit) } else { high |= 1 << UInt64(bit - 64) }
    }

    public func contains(_ bit: Int) -> Bool {
        guard bit >= 0 && bit < Self.capacity else { return false }
        return bit < 64 ? low & (1 << UInt64(bit)) != 0 : high & (1 << UInt64(bit - 64)) != 0
    }

    /// True when every compartment of `other` is in this set.
    @inlinable
    public func isSuperset(of other: CompartmentSet) -> Bool {
        other.low & ~low == 0 && other.high & ~high == 0
    }

    @inlinable
    public func union(_ other: CompartmentSet) -> CompartmentSet {
        CompartmentSet(low: low | other.low, high: high | other.high)
    }

    @inlinable
    public func intersection(_ other: CompartmentSet) -> CompartmentSet {
        CompartmentSet(low: low & other.low, high: high & other.high)
    }

    public var isEmpty: Bool { low == 0 && high == 0 }

    /// The compartment numbers, ascending.
    public var members: [Int] { (0..<Self.capacity).filter(contains) }
}

/// A sensitivity label (or a clearance): a classification level and a set of compartments.
///
/// Labels form a lattice: `a` dominates `b` when `a`'s classification is at least `b`'s and
/// `a`'s compartments include all of `b`'s. A port or appliance may see a packet only when
/// its clearance dominates the packet's label.
public struct Label: Sendable, Hashable {
    /// The classification's ordered value (higher is more sensitive).
    public var classification: Int
    public var compartments: CompartmentSet

    @inlinable
    public init(classification: Int, compartments: CompartmentSet = .none) {
        self.classification = classification
        self.compartments = compartments
    }

    /// True when this label (as a clearance) dominates `other`: classification at least as
    /// high and compartments a superset.
    @inlinable
    public func dominates(_ other: Label) -> Bool {
        classification >= other.classification && compartments.isSuperset(of: other.compartments)
    }

    /// The least upper bound: the lowest label dominating both (highest classification,
    /// union of compartments). A packet between two guests carries this of their labels.
    @inlinable
    public func leastUpperBound(_ other: Label) -> Label {
        Label(classification: max(classification, other.classification), compartments: compartments.union(other.compartments))
    }

    /// The greatest lower bound: the highest label both dominate.
    @inlinable
    public func greatestLowerBound(_ other: Label) -> Label {
        Label(classification: min(classification, other.classification), compartments: compartments.intersection(other.compartments))
    }
}
