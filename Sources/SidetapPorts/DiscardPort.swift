import SidetapCore

/// A port that accepts every packet and writes nothing: for benchmarks and dry runs.
public final class DiscardPort: Port {
    public let name: String
    private let packetCount = Counter()
    private let byteCount = Counter()

    public init(name: String) {
        self.name = name
    }

    /// Packets accepted. Readable from any thread.
    public var packets: UInt64 { packetCount.value }
    /// Bytes accepted (`bytes.count` of each packet: what a real port would write). Readable
    /// from any thread.
    public var bytes: UInt64 { byteCount.value }

    public func open(sources: [SourceDescription]) throws {}

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        packetCount.add()
        byteCount.add(UInt64(packet.bytes.count))
    }

    public func flush() throws(PortWriteError) {}
    public func tick(wallNanos: Int64) throws(PortWriteError) {}
    public func close() throws {}
}
