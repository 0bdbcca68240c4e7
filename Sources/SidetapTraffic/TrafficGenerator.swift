import SidetapCore

/// Deterministic synthetic traffic like a guest host's: TCP connections with handshakes,
/// exact sequence/acknowledgment numbers and FIN or RST closes (web, TLS, SSH, PostgreSQL,
/// MySQL, others), DNS in wire format, NTP, syslog, media-like UDP, ICMP/ICMPv6 echo; about
/// 8 % IPv6 and 10 % 802.1Q-tagged (VLANs 100/200/300); Ethernet frames of 60…1514 bytes
/// (1518 tagged); timestamps rising by 1 µs…1 ms from 2026-01-01T00:00:00Z.
///
/// The same seed and count give byte-identical frames. Addresses are 10.0.1.0/24 and
/// 10.0.2.0/24 (guests), 10.0.0.53 (resolver), 10.99.0.0/16 (outside), fd00::/16 for IPv6.
///
/// ```swift
/// try TrafficGenerator(seed: 1, packets: 2_000_000).write(to: "/tmp/in.pcap")
/// for frame in TrafficGenerator.sample() { … }     // 2,000 frames as arrays
/// ```
public struct TrafficGenerator: Sequence, Sendable {
    public let seed: UInt64
    /// Number of frames generated.
    public let packetCount: Int
    public let mix: TrafficMix

    public init(seed: UInt64, packets: Int, mix: TrafficMix = .guestHost) {
        self.seed = seed
        self.packetCount = Swift.max(0, packets)
        self.mix = mix
    }

    /// Seed of the `sample()` capture.
    public static let sampleSeed: UInt64 = 0x5EED_2026
    /// Packet count of the `sample()` capture.
    public static let samplePacketCount = 2_000

    /// The small capture Sidetap embeds as its default input: 2,000 packets covering web,
    /// DNS, east-west between the guest subnets, north-south to 10.99.0.0/16, VLAN-tagged
    /// and IPv6 traffic.
    public static func sample() -> TrafficGenerator {
        TrafficGenerator(seed: sampleSeed, packets: samplePacketCount)
    }

    /// Generated frames are Ethernet.
    public var linkType: LinkType { .ethernet }

    /// Calls `body` with each frame's timestamp (ns since the epoch) and bytes, which are
    /// valid only during the call. Allocates nothing per frame once warmed up.
    public func forEachFrame<E: Error>(_ body: (_ timestampNanos: Int64, _ bytes: UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        var engine = TrafficEngine(seed: seed, packets: packetCount, mix: mix)
        while let timestamp = engine.next() {
            var failure: E?
            engine.sink.encoder.bytes.withUnsafeBytes { raw in
                do throws(E) { try body(timestamp, raw) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    /// Writes every frame to a classic pcap file at `path`; returns the number written.
    @discardableResult
    public func write(to path: String, precision: PcapTimestampPrecision = .microseconds) throws(SystemError) -> Int {
        let writer = try PcapWriter(path: path, linkType: linkType, precision: precision)
        try forEachFrame { (timestamp, bytes) throws(SystemError) in
            try writer.write(bytes, timestampNanos: timestamp)
        }
        try writer.close()
        return writer.packetCount
    }

    public func makeIterator() -> Iterator {
        Iterator(engine: TrafficEngine(seed: seed, packets: packetCount, mix: mix))
    }

    /// Yields each frame as a `GeneratedFrame` (a copy of the bytes).
    public struct Iterator: IteratorProtocol, Sendable {
        var engine: TrafficEngine

        public mutating func next() -> GeneratedFrame? {
            guard let timestamp = engine.next() else { return nil }
            return GeneratedFrame(timestampNanos: timestamp, bytes: engine.sink.encoder.bytes)
        }
    }
}

/// One generated Ethernet frame.
public struct GeneratedFrame: Sendable, Hashable {
    /// Capture time, nanoseconds since the Unix epoch.
    public var timestampNanos: Int64
    public var bytes: [UInt8]

    public init(timestampNanos: Int64, bytes: [UInt8]) {
        self.timestampNanos = timestampNanos
        self.bytes = bytes
    }
}
