import SidetapCore
import SidetapTraffic
import Testing

@Suite("TrafficGenerator: TCP conversations")
struct GeneratorTCPTests {
    /// Per-connection state seen so far, keyed by the directed 4-tuple of the client side.
    struct Connection {
        var clientNext: UInt32
        var serverNext: UInt32 = 0
        var synAckSeen = false
        var closed = false
    }

    @Test func handshakesAndExactSequenceNumbers() {
        var connections: [FlowKey: Connection] = [:]
        var clientIsLower: [FlowKey: Bool] = [:]
        var problems: [String] = []
        var handshakes = 0, fins = 0, resets = 0, dataSegments = 0
        var packet = DecodedPacket()
        TrafficGenerator(seed: 5, packets: 50_000).forEachFrame { _, bytes in
            PacketDecoder.decode(bytes, linkType: .ethernet, into: &packet)
            guard packet.hasTCP else { return }
            let (key, reversed) = FlowKey.make(packet)
            let payload = packet.networkEnd - packet.payloadOffset
            let flags = packet.tcpFlags
            if flags == [.syn] {
                if connections[key] != nil && connections[key]?.closed == false { problems.append("SYN on live \(key)") }
                connections[key] = Connection(clientNext: packet.tcpSequence &+ 1)
                clientIsLower[key] = !reversed
                return
            }
            guard var connection = connections[key], let lowerIsClient = clientIsLower[key] else {
                problems.append("packet before SYN on \(key)")
                return
            }
            let fromClient = lowerIsClient != reversed
            if flags == [.syn, .ack] {
                if fromClient || packet.tcpAcknowledgment != connection.clientNext { problems.append("bad SYN-ACK \(key)") }
                connection.serverNext = packet.tcpSequence &+ 1
                connection.synAckSeen = true
                handshakes += 1
                connections[key] = connection
                return
            }
            if !connection.synAckSeen { problems.append("data before SYN-ACK \(key)") }
            let expectedSequence = fromClient ? connection.clientNext : connection.serverNext
            let expectedAck = fromClient ? connection.serverNext : connection.clientNext
            if packet.tcpSequence != expectedSequence { problems.append("seq \(packet.tcpSequence) != \(expectedSequence) on \(key)") }
            if flags.contains(.ack) && packet.tcpAcknowledgment != expectedAck {
                problems.append("ack \(packet.tcpAcknowledgment) != \(expectedAck) on \(key)")
            }
            var advance = UInt32(payload)
            if flags.contains(.fin) { advance &+= 1; fins += 1 }
            if flags.contains(.rst) { resets += 1; connection.closed = true }
            if payload > 0 { dataSegments += 1 }
            if fromClient { connection.clientNext &+= advance } else { connection.serverNext &+= advance }
            connections[key] = connection
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(handshakes > 500)
        #expect(fins > 500)
        #expect(resets > 10)
        #expect(dataSegments > 20_000)
    }
}
