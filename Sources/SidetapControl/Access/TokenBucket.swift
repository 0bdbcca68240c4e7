/// A token bucket on a monotonic nanosecond clock: holds up to `burst` tokens, refills at
/// `rate` per second, and each request takes one.
public struct TokenBucket: Sendable, Hashable {
    public let limit: RateLimit
    private var tokens: Double
    private var lastNanos: Int64

    /// A full bucket at time `nowNanos`.
    public init(limit: RateLimit, nowNanos: Int64) {
        self.limit = limit
        tokens = Double(limit.burst)
        lastNanos = nowNanos
    }

    /// Takes a token: nil when the request may proceed, or the whole seconds (≥ 1) until a
    /// token will be available.
    public mutating func take(nowNanos: Int64) -> Int? {
        if nowNanos > lastNanos {
            let elapsed = Double(nowNanos - lastNanos) / 1e9
            tokens = min(Double(limit.burst), tokens + elapsed * limit.requestsPerSecond)
            lastNanos = nowNanos
        }
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        let wait = (1 - tokens) / limit.requestsPerSecond
        return max(1, Int(wait.rounded(.up)))
    }
}
