/// A snapshot of every counter the engine keeps, for the status line, the summary and stats.
public struct EngineStatistics: Sendable {
    /// Per-source counters.
    public struct Source: Sendable {
        public var name: String
        public var guest: String?
        /// Packets the source delivered.
        public var packets: UInt64
        public var bytes: UInt64
        /// Packets whose headers ended early (truncated or malformed); they are still selected.
        public var decodeIncomplete: UInt64
        /// Outer packets of Sidetap's own tunnel ports, seen by this source and dropped before
        /// selection (the loop guard).
        public var ownOutput: UInt64 = 0
        /// Drops reported by the kernel (live sources) and read errors.
        public var kernelDropped: UInt64
        public var errors: UInt64
        /// The last non-fatal problem (a truncated file).
        public var problem: String?
        public var finished: Bool
    }

    /// Per-port counters; every packet received is either not selected, sent, or dropped for
    /// exactly one reason.
    public struct Port: Sendable {
        public var name: String
        public var kind: String
        /// Packets offered to the port's rules.
        public var received: UInt64
        /// Packets its rules accepted.
        public var selected: UInt64
        /// Packets written out.
        public var sent: UInt64
        /// Bytes written out (after slicing).
        public var sentBytes: UInt64
        /// Dropped because the port's ring was full (the port fell behind).
        public var droppedRingFull: UInt64
        /// Dropped by the port's token bucket.
        public var droppedRateLimit: UInt64
        /// Dropped because the write failed.
        public var droppedWriteError: UInt64
        /// Packets waiting in the port's rings.
        public var queued: Int
        /// The last write error, if any.
        public var lastError: String?

        public var dropped: UInt64 { droppedRingFull + droppedRateLimit + droppedWriteError }
    }

    public var sources: [Source]
    public var ports: [Port]
    /// Monotonic nanoseconds since the engine started.
    public var elapsedNanos: Int64

    public var totalPackets: UInt64 { sources.reduce(0) { $0 + $1.packets } }
}
