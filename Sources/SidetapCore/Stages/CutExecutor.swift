/// How a connection is cut.
public enum CutMethod: String, Sendable, Hashable, CaseIterable, Codable {
    /// TCP RSTs toward both endpoints with the sequence numbers each expects.
    case reset
    /// A firewall rule that drops the flow (or host, or network) for a time.
    case block
    /// Both of the above.
    case both
}

/// What a block drops: both directions of one flow, or everything from or to a network.
public enum BlockTarget: Sendable, Hashable, CustomStringConvertible {
    /// Both directions of a 5-tuple (`FlowKey`'s protocol, addresses and ports; its VLAN is
    /// ignored). For a protocol without ports (ICMP), the ports must be 0 and every packet
    /// between the two addresses with that protocol is dropped.
    case flow(FlowKey)
    /// Every packet whose source or destination lies in the network. `prefixLength` counts
    /// IPv4 bits (0–32) for an IPv4-mapped address and IPv6 bits (0–128) otherwise.
    case network(IPAddress, prefixLength: Int)

    public var description: String {
        switch self {
        case .flow(let key):
            return "\(key.ipProtocol) \(key.lowerAddress):\(key.lowerPort) <-> \(key.upperAddress):\(key.upperPort)"
        case .network(let address, let prefixLength):
            return "\(address)/\(prefixLength)"
        }
    }
}

/// What a reset sent: one RST toward each endpoint, with the sequence number used.
public struct ResetReport: Sendable, Hashable {
    /// The interface the RSTs were sent on.
    public var interface: String
    /// The RST toward the initiator carries this sequence number (the responder's next).
    public var sequenceToInitiator: UInt32
    /// The RST toward the responder carries this sequence number (the initiator's next).
    public var sequenceToResponder: UInt32

    public init(interface: String, sequenceToInitiator: UInt32, sequenceToResponder: UInt32) {
        self.interface = interface
        self.sequenceToInitiator = sequenceToInitiator
        self.sequenceToResponder = sequenceToResponder
    }
}

/// Cuts a TCP connection the tap has seen by sending a RST toward each endpoint, on the
/// interface where the flow was seen, with exactly the sequence number each endpoint expects
/// next (RFC 5961 §3.2), taken from the flow table.
public protocol ConnectionResetter: AnyObject, Sendable {
    func reset(_ flow: FlowSnapshot) throws -> ResetReport
}

/// Drops traffic in the kernel for a time: the kernel itself removes a block when its TTL
/// ends, and the blocker removes everything it added when Sidetap stops.
public protocol TrafficBlocker: AnyObject, Sendable {
    /// Drops the target's traffic for `ttlSeconds` (replacing any earlier TTL for it).
    func block(_ target: BlockTarget, ttlSeconds: Int) throws
    /// Lifts a block before its TTL ends; lifting one that is gone is not an error.
    func unblock(_ target: BlockTarget) throws
    /// Removes every block and whatever the blocker installed.
    func removeAll() throws
}
