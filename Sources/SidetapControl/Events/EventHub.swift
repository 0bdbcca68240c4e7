import Synchronization

/// Fans control events out to every live watcher.
///
/// Each watcher gets its own stream that keeps the newest 256 events: a watcher that stops
/// reading loses old events, never slows anyone down, and never grows memory without bound.
public final class EventHub: Sendable {
    private let watchers = Mutex<[Int: AsyncStream<ControlEvent>.Continuation]>([:])
    private let nextID = Mutex<Int>(0)

    public init() {}

    /// Sends `event` to every watcher.
    public func publish(_ event: ControlEvent) {
        let current = watchers.withLock { Array($0.values) }
        for continuation in current { continuation.yield(event) }
    }

    /// A new stream of every event from now on; it ends when the hub finishes or the
    /// consumer stops iterating.
    public func subscribe() -> AsyncStream<ControlEvent> {
        let id = nextID.withLock { value in
            value += 1
            return value
        }
        let (stream, continuation) = AsyncStream.makeStream(of: ControlEvent.self, bufferingPolicy: .bufferingNewest(256))
        continuation.onTermination = { [weak self] _ in
            _ = self?.watchers.withLock { $0.removeValue(forKey: id) }
        }
        watchers.withLock { $0[id] = continuation }
        return stream
    }

    /// Watchers connected now.
    public var watcherCount: Int { watchers.withLock { $0.count } }

    /// Ends every stream (on shutdown).
    public func finish() {
        let current = watchers.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for continuation in current { continuation.finish() }
    }
}
