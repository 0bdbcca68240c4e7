import SidetapCore

/// Per-second rates between two statistics snapshots of the same engine, matched by source and
/// port name. The interval is the engine's own clock (`elapsedNanos`), so a slow answer does not
/// skew the rates.
public struct TopRates: Sendable, Equatable {
    /// Rates of one source.
    public struct Source: Sendable, Equatable {
        public var packetsPerSecond: Double
        public var bitsPerSecond: Double
        public var kernelDropsPerSecond: Double
    }

    /// Rates of one port.
    public struct Port: Sendable, Equatable {
        public var sentPerSecond: Double
        public var bitsPerSecond: Double
        public var ringFullPerSecond: Double
        public var rateLimitPerSecond: Double
        public var writeErrorPerSecond: Double
        public var dropsPerSecond: Double { ringFullPerSecond + rateLimitPerSecond + writeErrorPerSecond }
    }

    /// Seconds between the two snapshots.
    public var seconds: Double
    public var sources: [String: Source]
    public var ports: [String: Port]

    /// The rates from `previous` to `current`; nil when no time passed on the engine's clock or
    /// the clock went back (the daemon restarted). A source or port whose counters went down
    /// (replaced by a restart) or that is new has no rates.
    public static func between(_ previous: EngineStatistics, _ current: EngineStatistics) -> TopRates? {
        let nanos = current.elapsedNanos - previous.elapsedNanos
        guard nanos > 0 else { return nil }
        let seconds = Double(nanos) / 1e9
        var sources: [String: Source] = [:]
        let before = Dictionary(previous.sources.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for now in current.sources {
            guard let then = before[now.name],
                  let packets = perSecond(now.packets, then.packets, seconds),
                  let bytes = perSecond(now.bytes, then.bytes, seconds),
                  let drops = perSecond(now.kernelDropped, then.kernelDropped, seconds) else { continue }
            sources[now.name] = Source(packetsPerSecond: packets, bitsPerSecond: bytes * 8, kernelDropsPerSecond: drops)
        }
        var ports: [String: Port] = [:]
        let portsBefore = Dictionary(previous.ports.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for now in current.ports {
            guard let then = portsBefore[now.name],
                  let sent = perSecond(now.sent, then.sent, seconds),
                  let bytes = perSecond(now.sentBytes, then.sentBytes, seconds),
                  let ring = perSecond(now.droppedRingFull, then.droppedRingFull, seconds),
                  let limit = perSecond(now.droppedRateLimit, then.droppedRateLimit, seconds),
                  let write = perSecond(now.droppedWriteError, then.droppedWriteError, seconds) else { continue }
            ports[now.name] = Port(sentPerSecond: sent, bitsPerSecond: bytes * 8, ringFullPerSecond: ring, rateLimitPerSecond: limit,
                                   writeErrorPerSecond: write)
        }
        return TopRates(seconds: seconds, sources: sources, ports: ports)
    }

    /// (now - before) / seconds, or nil when the counter went down.
    public static func perSecond(_ now: UInt64, _ before: UInt64, _ seconds: Double) -> Double? {
        guard now >= before, seconds > 0 else { return nil }
        return Double(now - before) / seconds
    }

    /// Packets per second into all sources together.
    public var totalPacketsPerSecond: Double { sources.values.reduce(0) { $0 + $1.packetsPerSecond } }
    public var totalBitsPerSecond: Double { sources.values.reduce(0) { $0 + $1.bitsPerSecond } }
    /// Packets per second out of all ports together.
    public var totalSentPerSecond: Double { ports.values.reduce(0) { $0 + $1.sentPerSecond } }
    public var totalPortDropsPerSecond: Double { ports.values.reduce(0) { $0 + $1.dropsPerSecond } }
    public var totalKernelDropsPerSecond: Double { sources.values.reduce(0) { $0 + $1.kernelDropsPerSecond } }
}
