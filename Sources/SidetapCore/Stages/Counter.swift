import Synchronization

/// A counter with one writer thread and any number of readers.
///
/// The writer adds with a relaxed load and store (plain moves on x86, no locked instruction),
/// which is correct because only one thread ever writes it; readers see a recent value.
public final class Counter: Sendable {
    @usableFromInline let storage = Atomic<UInt64>(0)
    public init() {}

    /// Adds `amount`; call only from the counter's single writer thread.
    @inlinable
    public func add(_ amount: UInt64 = 1) {
        storage.store(storage.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Replaces the value; for a writer that tallies locally and publishes once per batch.
    @inlinable
    public func publish(_ value: UInt64) {
        storage.store(value, ordering: .relaxed)
    }

    /// The current value, from any thread.
    @inlinable
    public var value: UInt64 { storage.load(ordering: .relaxed) }
}
