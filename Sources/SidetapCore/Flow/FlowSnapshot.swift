/// What the tap has seen of one endpoint of a flow: what it sent, and for TCP the numbers a
/// cut needs (RFC 5961: a reset is accepted at once only with exactly the receiver's next
/// expected sequence number).
public struct FlowEndpoint: Sendable, Hashable {
    public var address: IPAddress
    public var port: UInt16
    /// The MAC address this endpoint sends from (48 bits), or 0 when the link has none.
    public var mac: UInt64
    /// Packets and wire bytes this endpoint sent.
    public var packets: UInt64
    public var bytes: UInt64
    /// TCP: the sequence number this endpoint sends next — sequence + payload length (+1 for
    /// SYN and FIN) of the furthest segment it sent — which is what the other endpoint expects
    /// next. `nil` until a TCP segment from this endpoint was seen.
    public var nextSequence: UInt32?
    /// TCP: the latest acknowledgement number this endpoint sent (what it expects next).
    public var acknowledgement: UInt32?
    /// TCP: the latest raw window field this endpoint sent.
    public var window: UInt16
    /// TCP: every flag this endpoint has sent, OR-ed.
    public var flagsSeen: TCPFlags

    public init(address: IPAddress, port: UInt16, mac: UInt64 = 0, packets: UInt64 = 0, bytes: UInt64 = 0,
                nextSequence: UInt32? = nil, acknowledgement: UInt32? = nil, window: UInt16 = 0, flagsSeen: TCPFlags = []) {
        self.address = address
        self.port = port
        self.mac = mac
        self.packets = packets
        self.bytes = bytes
        self.nextSequence = nextSequence
        self.acknowledgement = acknowledgement
        self.window = window
        self.flagsSeen = flagsSeen
    }
}

/// A consistent copy of one flow-table entry, taken from any thread.
public struct FlowSnapshot: Sendable, Hashable {
    public var key: FlowKey
    /// The endpoint seen sending first (the SYN sender when the handshake was seen).
    public var initiator: FlowEndpoint
    public var responder: FlowEndpoint
    /// Capture timestamps, nanoseconds since the Unix epoch.
    public var firstSeenNanos: UInt64
    public var lastSeenNanos: UInt64
    /// The source (capture) that saw the flow, by index and description.
    public var sourceIndex: UInt16
    public var source: SourceDescription
    /// The link type of the frames, and their VLAN tags (0 to 2; outer first).
    public var linkType: LinkType
    public var vlanCount: UInt8
    public var outerVLAN: UInt16
    public var innerVLAN: UInt16

    public init(key: FlowKey, initiator: FlowEndpoint, responder: FlowEndpoint, firstSeenNanos: UInt64, lastSeenNanos: UInt64,
                sourceIndex: UInt16, source: SourceDescription, linkType: LinkType,
                vlanCount: UInt8 = 0, outerVLAN: UInt16 = 0, innerVLAN: UInt16 = 0) {
        self.key = key
        self.initiator = initiator
        self.responder = responder
        self.firstSeenNanos = firstSeenNanos
        self.lastSeenNanos = lastSeenNanos
        self.sourceIndex = sourceIndex
        self.source = source
        self.linkType = linkType
        self.vlanCount = vlanCount
        self.outerVLAN = outerVLAN
        self.innerVLAN = innerVLAN
    }

    /// The guest the flow belongs to, when its source names one.
    public var guest: String? { source.guest }

    /// Packets and bytes in both directions.
    public var packets: UInt64 { initiator.packets &+ responder.packets }
    public var bytes: UInt64 { initiator.bytes &+ responder.bytes }
}

/// Occupancy and eviction counters of one flow table.
public struct FlowTableStatistics: Sendable, Hashable, Codable {
    /// The configured maximum number of flows.
    public var capacity: Int
    /// Flows in the table now.
    public var active: Int
    /// Flows ever created.
    public var created: UInt64
    /// Flows removed because they were idle longer than the idle timeout.
    public var evictedIdle: UInt64
    /// Flows removed to make room for a new one (the least recently seen).
    public var evictedFull: UInt64

    public init(capacity: Int, active: Int, created: UInt64, evictedIdle: UInt64, evictedFull: UInt64) {
        self.capacity = capacity
        self.active = active
        self.created = created
        self.evictedIdle = evictedIdle
        self.evictedFull = evictedFull
    }
}

/// Read access to flows for the control channel and the cutter, from any thread, while the
/// capture thread keeps updating them without a lock.
public protocol FlowLookup: AnyObject, Sendable {
    /// The flow with this key (either orientation), if the table holds it.
    func snapshot(of key: FlowKey) -> FlowSnapshot?
    /// Up to `limit` flows that pass `filter`, most recently seen first.
    func snapshots(limit: Int, where filter: (FlowSnapshot) -> Bool) -> [FlowSnapshot]
    /// Occupancy and evictions.
    var flowStatistics: FlowTableStatistics { get }
}
