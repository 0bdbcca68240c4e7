import Synchronization

/// The appliance policy in force, replaceable at run time by a reload. Requests in flight keep
/// the policy they started with; the next request sees the new one.
public final class AccessHolder: Sendable {
    private let policy: Mutex<AccessPolicy>

    public init(_ policy: AccessPolicy) {
        self.policy = Mutex(policy)
    }

    public var current: AccessPolicy { policy.withLock { $0 } }

    public func replace(with new: AccessPolicy) {
        policy.withLock { $0 = new }
    }
}
