import SidetapCore

/// Who carries which label in one configuration: each source's label and its guest's
/// addresses, each port's clearance. The engine builds its per-source `LabelGate`s from it,
/// `sidetap check` reports from it, and the control channel labels the flows appliances ask
/// to cut with it.
///
/// A packet's label is the least upper bound of its capturing source's label and the labels
/// of the guests owning its source and destination addresses. A guest that spoofs another
/// guest's address can therefore only raise its packets' label, never lower it below its
/// own source's.
public struct LabelAssignment: Sendable {
    /// One source's label and the address blocks its guest owns.
    public struct Source: Sendable, Hashable {
        public var name: String
        public var guest: String?
        public var label: Label
        public var addresses: [AddressBlock]

        public init(name: String, guest: String?, label: Label, addresses: [AddressBlock] = []) {
            self.name = name
            self.guest = guest
            self.label = label
            self.addresses = addresses
        }
    }

    /// One port's (or appliance's) clearance.
    public struct Cleared: Sendable, Hashable {
        public var name: String
        public var clearance: Label

        public init(name: String, clearance: Label) {
            self.name = name
            self.clearance = clearance
        }
    }

    public var encodings: LabelEncodings
    /// In source index order.
    public var sources: [Source]
    /// In port index order (at most 64).
    public var ports: [Cleared]

    public init(encodings: LabelEncodings, sources: [Source], ports: [Cleared]) {
        self.encodings = encodings
        self.sources = sources
        self.ports = ports
    }

    /// True when some source declares its guest's addresses (labels then vary per flow).
    public var usesAddresses: Bool { sources.contains { !$0.addresses.isEmpty } }

    /// The least upper bound of the labels of every guest owning `address`; nil when no
    /// source declares it.
    public func ownerLabel(of address: IPAddress) -> Label? {
        var result: Label?
        for source in sources where source.addresses.contains(where: { $0.contains(address) }) {
            result = result.map { $0.leastUpperBound(source.label) } ?? source.label
        }
        return result
    }

    /// The label of a packet or flow: the capturing source's label (when the source is not
    /// known, that of every source of `guest`; else the lowest label) joined with the labels
    /// of the guests owning `addresses`.
    public func label(source: String?, guest: String?, addresses: [IPAddress]) -> Label {
        var label = encodings.lowest
        if let source, let entry = sources.first(where: { $0.name == source }) {
            label = entry.label
        } else if let guest {
            for entry in sources where entry.guest == guest { label = label.leastUpperBound(entry.label) }
        }
        for address in addresses {
            if let owner = ownerLabel(of: address) { label = label.leastUpperBound(owner) }
        }
        return label
    }

    /// The label of a whole network (a block order): the least upper bound of every guest
    /// whose addresses overlap it.
    public func label(network: AddressBlock) -> Label {
        var label = encodings.lowest
        for source in sources where source.addresses.contains(where: { $0.overlaps(network) }) {
            label = label.leastUpperBound(source.label)
        }
        return label
    }

    /// The distinct labels of the guests owning addresses, ascending by classification.
    public var ownerLabels: [Label] {
        var seen: [Label] = []
        for source in sources where !source.addresses.isEmpty && !seen.contains(source.label) { seen.append(source.label) }
        return seen
    }

    /// Every label a packet captured on source `index` can carry: its own label joined with
    /// none, one or two guest owners' labels.
    public func possibleLabels(ofSource index: Int) -> [Label] {
        let base = sources[index].label
        let owners = ownerLabels
        var result: [Label] = [base]
        func add(_ label: Label) { if !result.contains(label) { result.append(label) } }
        for a in owners {
            add(base.leastUpperBound(a))
            for b in owners { add(base.leastUpperBound(a).leastUpperBound(b)) }
        }
        return result
    }

    /// The ports (as a bit mask over port indexes) whose clearance dominates `label`.
    public func clearedPorts(for label: Label) -> UInt64 {
        var mask: UInt64 = 0
        for (index, port) in ports.enumerated() where index < 64 && port.clearance.dominates(label) { mask |= 1 << UInt64(index) }
        return mask
    }

    /// The label in the encodings' long names.
    public func describe(_ label: Label) -> String { encodings.describe(label) }
}
