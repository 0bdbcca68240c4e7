/// A snapshot of every counter the engine keeps, for the status line, the summary, the
/// control API's `/v1/stats` and `sidetap stats` (JSON through `Codable`).
public struct EngineStatistics: Sendable, Codable, Equatable {
    /// Per-source counters.
    public struct Source: Sendable, Codable, Equatable {
        public var name: String
        public var guest: String?
        /// Packets the source delivered.
        public var packets: UInt64
        public var bytes: UInt64
        /// Packets whose headers ended early (truncated or malformed); they are still selected.
        public var decodeIncomplete: UInt64
        /// Outer packets of Sidetap's own tunnel ports, seen by this source and dropped before
        /// selection (the loop guard).
        public var ownOutput: UInt64
        /// Drops reported by the kernel (live sources: pcap_stats ps_drop + ps_ifdrop).
        public var kernelDropped: UInt64
        /// Read errors (a truncated file ends with one).
        public var errors: UInt64
        /// The last non-fatal problem (a truncated file, an interface that went away).
        public var problem: String?
        public var finished: Bool

        public init(name: String, guest: String?, packets: UInt64, bytes: UInt64, decodeIncomplete: UInt64, ownOutput: UInt64 = 0,
                    kernelDropped: UInt64, errors: UInt64, problem: String?, finished: Bool) {
            self.name = name
            self.guest = guest
            self.packets = packets
            self.bytes = bytes
            self.decodeIncomplete = decodeIncomplete
            self.ownOutput = ownOutput
            self.kernelDropped = kernelDropped
            self.errors = errors
            self.problem = problem
            self.finished = finished
        }
    }

    /// Per-port counters; every packet received is either not selected, sent, or dropped for
    /// exactly one reason.
    public struct Port: Sendable, Codable, Equatable {
        public var name: String
        public var kind: String
        /// Packets offered to the port's rules.
        public var received: UInt64
        /// Packets its rules accepted and its clearance allowed.
        public var selected: UInt64
        /// Packets written out; also the port's sequence number (the last packet sent is
        /// number `sent`), so an appliance comparing it with what it received sees its gaps.
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
        /// Tunnel ports: packets numbered on the wire so far (ERSPAN's sequence field), sent or
        /// failed; the next packet carries this number. Nil for ports without one.
        public var sequence: UInt64?
        /// Socket ports: readers connected, accepted and refused, and packets slow readers skipped.
        public var readers: ReaderStatistics?
        /// Packets its rules accepted but its clearance does not dominate the label of (a
        /// policy decision, not a loss: not part of `dropped`). Zero without labels.
        public var droppedLabel: UInt64

        public init(name: String, kind: String, received: UInt64, selected: UInt64, sent: UInt64, sentBytes: UInt64,
                    droppedRingFull: UInt64, droppedRateLimit: UInt64, droppedWriteError: UInt64, queued: Int, lastError: String?,
                    sequence: UInt64? = nil, readers: ReaderStatistics? = nil, droppedLabel: UInt64 = 0) {
            self.droppedLabel = droppedLabel
            self.sequence = sequence
            self.readers = readers
            self.name = name
            self.kind = kind
            self.received = received
            self.selected = selected
            self.sent = sent
            self.sentBytes = sentBytes
            self.droppedRingFull = droppedRingFull
            self.droppedRateLimit = droppedRateLimit
            self.droppedWriteError = droppedWriteError
            self.queued = queued
            self.lastError = lastError
        }

        /// All packets lost on the way out (ring full, rate limit, write error); label drops
        /// are counted apart in `droppedLabel`.
        public var dropped: UInt64 { droppedRingFull + droppedRateLimit + droppedWriteError }
    }

    public var sources: [Source]
    public var ports: [Port]
    /// Monotonic nanoseconds since the engine started.
    public var elapsedNanos: Int64

    public init(sources: [Source], ports: [Port], elapsedNanos: Int64) {
        self.sources = sources
        self.ports = ports
        self.elapsedNanos = elapsedNanos
    }

    /// Packets delivered by all sources.
    public var totalPackets: UInt64 { sources.reduce(0) { $0 + $1.packets } }
}
