import SidetapCore
import SidetapFlows
import SidetapTraffic

/// Builds TCP frames between two lab endpoints and feeds them to a table, as the source
/// worker does (decode, key, hash, update).
struct TCPFeeder {
    var table: FlowTable
    var client = IPAddress("10.77.41.1")!
    var server = IPAddress("10.77.41.2")!
    var clientPort: UInt16 = 40_000
    var serverPort: UInt16 = 80
    var clientMAC: UInt64 = 0x02_77_41_00_00_01
    var serverMAC: UInt64 = 0x02_77_41_00_00_02
    var tags: [VLANTag] = []
    var clock: UInt64 = 1_000_000_000

    init(table: FlowTable) { self.table = table }

    func frame(fromClient: Bool, sequence: UInt32, acknowledgment: UInt32 = 0, flags: TCPFlags, payload: Int = 0) -> BuiltFrame {
        let header = TCPHeader(
            sourcePort: fromClient ? clientPort : serverPort, destinationPort: fromClient ? serverPort : clientPort,
            sequence: sequence, acknowledgment: acknowledgment, flags: flags, window: fromClient ? 1000 : 2000)
        let network: FrameNetwork = client.isIPv4
            ? .ipv4(IPv4Header(source: fromClient ? client : server, destination: fromClient ? server : client))
            : .ipv6(IPv6Header(source: fromClient ? client : server, destination: fromClient ? server : client))
        return FrameBuilder(
            link: .ethernet(source: fromClient ? clientMAC : serverMAC, destination: fromClient ? serverMAC : clientMAC, tags: tags),
            network: network, transport: .tcp(header), payload: Array(repeating: 0x61, count: payload)
        ).build()
    }

    /// Feeds one segment; returns its wire length.
    @discardableResult
    mutating func send(fromClient: Bool, sequence: UInt32, acknowledgment: UInt32 = 0, flags: TCPFlags, payload: Int = 0,
                       truncateTo: Int? = nil) -> Int {
        let built = frame(fromClient: fromClient, sequence: sequence, acknowledgment: acknowledgment, flags: flags, payload: payload)
        clock += 1_000_000
        let captured = truncateTo.map { Array(built.bytes.prefix($0)) } ?? built.bytes
        feed(table, captured, linkType: built.linkType, wireLength: built.bytes.count, at: clock)
        return built.bytes.count
    }

    var key: FlowKey {
        FlowKey.make(frame(fromClient: true, sequence: 0, flags: [.ack]).decoded()).key
    }
}

/// Decodes `bytes` and updates `table` with them, as the worker does.
func feed(_ table: FlowTable, _ bytes: [UInt8], linkType: LinkType, wireLength: Int? = nil, at nanos: UInt64) {
    var decoded = DecodedPacket()
    bytes.withUnsafeBytes { PacketDecoder.decode($0, linkType: linkType, into: &decoded) }
    let flow = FlowKey.make(decoded)
    table.update(decoded, key: flow.key, reversed: flow.reversed, hash: flow.key.symmetricHash,
                 wireLength: wireLength ?? bytes.count, timestampNanos: nanos)
}

func labSource(_ name: String = "lab", linkType: LinkType = .ethernet, interface: String? = nil) -> SourceDescription {
    SourceDescription(name: name, guest: "vm1", linkType: linkType, snaplen: 65_535, origin: "test", interface: interface)
}
