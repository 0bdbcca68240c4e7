/// How large a flow table may grow and how long an idle flow is kept.
public struct FlowTableSettings: Sendable, Hashable {
    /// The most flows held at once; a new flow beyond it evicts the least recently seen one.
    public var capacity: Int
    /// A flow not seen for this long (capture time) is removed.
    public var idleTimeoutNanos: UInt64

    public init(capacity: Int = 65_536, idleTimeoutNanos: UInt64 = 300_000_000_000) {
        self.capacity = capacity
        self.idleTimeoutNanos = idleTimeoutNanos
    }
}
