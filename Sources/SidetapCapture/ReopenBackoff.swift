/// Delays between attempts to re-open an interface that went away: `initial`, doubling after
/// every failed attempt, never more than `maximum`; `reset()` after a success.
public struct ReopenBackoff: Sendable, Equatable {
    public let initialMilliseconds: Int
    public let maximumMilliseconds: Int
    private var current: Int

    public init(initialMilliseconds: Int = 250, maximumMilliseconds: Int = 2000) {
        self.initialMilliseconds = max(1, initialMilliseconds)
        self.maximumMilliseconds = max(self.initialMilliseconds, maximumMilliseconds)
        self.current = self.initialMilliseconds
    }

    /// The delay before the next attempt; each call doubles the following one up to the maximum.
    public mutating func nextDelay() -> Int {
        let delay = current
        current = min(maximumMilliseconds, current * 2)
        return delay
    }

    /// Starts again from `initial` (the interface came back).
    public mutating func reset() { current = initialMilliseconds }
}
