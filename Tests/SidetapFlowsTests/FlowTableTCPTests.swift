import SidetapCore
import SidetapFlows
import SidetapTraffic
import Testing

@Suite struct FlowTableTCPTests {
    @Test func handshakeDataAndFinGiveTheNextSequenceOfEachSide() throws {
        let table = FlowTable(settings: FlowTableSettings(capacity: 16), source: labSource(), sourceIndex: 3)
        var feeder = TCPFeeder(table: table)
        var clientBytes = 0
        var serverBytes = 0
        clientBytes += feeder.send(fromClient: true, sequence: 1000, flags: [.syn])
        serverBytes += feeder.send(fromClient: false, sequence: 5000, acknowledgment: 1001, flags: [.syn, .ack])
        clientBytes += feeder.send(fromClient: true, sequence: 1001, acknowledgment: 5001, flags: [.ack])
        clientBytes += feeder.send(fromClient: true, sequence: 1001, acknowledgment: 5001, flags: [.ack, .psh], payload: 100)
        serverBytes += feeder.send(fromClient: false, sequence: 5001, acknowledgment: 1101, flags: [.ack, .psh], payload: 50)
        clientBytes += feeder.send(fromClient: true, sequence: 1101, acknowledgment: 5051, flags: [.fin, .ack])

        let flow = try #require(table.snapshot(of: feeder.key))
        #expect(flow.initiator.address == feeder.client && flow.initiator.port == 40_000)
        #expect(flow.responder.address == feeder.server && flow.responder.port == 80)
        #expect(flow.initiator.mac == feeder.clientMAC && flow.responder.mac == feeder.serverMAC)
        #expect(flow.initiator.nextSequence == 1102)
        #expect(flow.responder.nextSequence == 5051)
        #expect(flow.initiator.acknowledgement == 5051)
        #expect(flow.responder.acknowledgement == 1101)
        #expect(flow.initiator.window == 1000 && flow.responder.window == 2000)
        #expect(flow.initiator.flagsSeen == [.syn, .ack, .psh, .fin])
        #expect(flow.responder.flagsSeen == [.syn, .ack, .psh])
        #expect(flow.initiator.packets == 4 && flow.responder.packets == 2)
        #expect(flow.initiator.bytes == UInt64(clientBytes) && flow.responder.bytes == UInt64(serverBytes))
        #expect(flow.firstSeenNanos == 1_001_000_000 && flow.lastSeenNanos == 1_006_000_000)
        #expect(flow.sourceIndex == 3 && flow.source.name == "lab" && flow.guest == "vm1")
        #expect(flow.linkType == .ethernet && flow.vlanCount == 0)
        #expect(table.flowStatistics == FlowTableStatistics(capacity: 16, active: 1, created: 1, evictedIdle: 0, evictedFull: 0))
    }

    @Test func sequenceNumbersWrapAround() throws {
        let table = FlowTable(settings: FlowTableSettings(capacity: 4), source: labSource(), sourceIndex: 0)
        var feeder = TCPFeeder(table: table)
        feeder.send(fromClient: true, sequence: 0xFFFF_FFF0, flags: [.syn])
        #expect(table.snapshot(of: feeder.key)?.initiator.nextSequence == 0xFFFF_FFF1)
        feeder.send(fromClient: true, sequence: 0xFFFF_FFF1, flags: [.ack], payload: 100)
        #expect(table.snapshot(of: feeder.key)?.initiator.nextSequence == 0x55)
        // A later segment entirely past the wrap moves it on; an older one does not.
        feeder.send(fromClient: true, sequence: 0x55, flags: [.ack], payload: 10)
        #expect(table.snapshot(of: feeder.key)?.initiator.nextSequence == 0x5F)
        feeder.send(fromClient: true, sequence: 0xFFFF_FFF1, flags: [.ack], payload: 20)
        #expect(table.snapshot(of: feeder.key)?.initiator.nextSequence == 0x5F)
    }

    @Test func retransmissionDoesNotMoveTheNextSequenceBack() throws {
        let table = FlowTable(settings: FlowTableSettings(capacity: 4), source: labSource(), sourceIndex: 0)
        var feeder = TCPFeeder(table: table)
        feeder.send(fromClient: true, sequence: 100, flags: [.syn])
        feeder.send(fromClient: true, sequence: 101, acknowledgment: 900, flags: [.ack], payload: 500)
        feeder.send(fromClient: true, sequence: 601, acknowledgment: 950, flags: [.ack], payload: 500)
        // The first data segment again, with an older acknowledgement.
        feeder.send(fromClient: true, sequence: 101, acknowledgment: 900, flags: [.ack], payload: 500)
        let flow = try #require(table.snapshot(of: feeder.key))
        #expect(flow.initiator.nextSequence == 1101)
        #expect(flow.initiator.acknowledgement == 950)
        #expect(flow.initiator.packets == 4)
        // A RST consumes no sequence space.
        feeder.send(fromClient: true, sequence: 1101, flags: [.rst])
        #expect(table.snapshot(of: feeder.key)?.initiator.nextSequence == 1101)
    }

    @Test func truncatedCaptureCountsThePayloadFromTheIPLength() throws {
        let table = FlowTable(settings: FlowTableSettings(capacity: 4), source: labSource(), sourceIndex: 0)
        var feeder = TCPFeeder(table: table)
        feeder.send(fromClient: true, sequence: 7, flags: [.syn])
        // 1400 bytes of payload, only the first 80 bytes of the frame captured.
        let wire = feeder.send(fromClient: true, sequence: 8, flags: [.ack], payload: 1400, truncateTo: 80)
        let flow = try #require(table.snapshot(of: feeder.key))
        #expect(flow.initiator.nextSequence == 1408)
        #expect(flow.initiator.bytes == UInt64(wire + 60))
    }

    @Test func bothOrientationsShareOneEntry() throws {
        let table = FlowTable(settings: FlowTableSettings(capacity: 4), source: labSource(), sourceIndex: 0)
        var feeder = TCPFeeder(table: table)
        // The server has the higher address: its packets are "reversed".
        feeder.send(fromClient: false, sequence: 1, flags: [.ack], payload: 10)
        feeder.send(fromClient: true, sequence: 2, flags: [.ack], payload: 10)
        feeder.send(fromClient: false, sequence: 11, flags: [.ack], payload: 10)
        #expect(table.flowStatistics.active == 1)
        let key = feeder.key
        let swapped = FlowKey(lowerAddress: key.upperAddress, upperAddress: key.lowerAddress, lowerPort: key.upperPort,
                              upperPort: key.lowerPort, ipProtocol: key.ipProtocol, vlan: key.vlan)
        let flow = try #require(table.snapshot(of: key))
        #expect(table.snapshot(of: swapped) == flow)
        // Mid-stream, the first sender is the initiator.
        #expect(flow.initiator.address == feeder.server && flow.initiator.packets == 2)
        #expect(flow.responder.address == feeder.client && flow.responder.packets == 1)
        #expect(flow.initiator.nextSequence == 21)
    }

    @Test func aFirstSynAckMakesTheOtherSideTheInitiator() throws {
        let table = FlowTable(settings: FlowTableSettings(capacity: 4), source: labSource(), sourceIndex: 0)
        var feeder = TCPFeeder(table: table)
        feeder.send(fromClient: false, sequence: 5000, acknowledgment: 1001, flags: [.syn, .ack])
        let flow = try #require(table.snapshot(of: feeder.key))
        #expect(flow.initiator.address == feeder.client && flow.initiator.packets == 0 && flow.initiator.nextSequence == nil)
        #expect(flow.responder.address == feeder.server && flow.responder.nextSequence == 5001)
    }

    @Test func ipv6AndVLANTagsAreKept() throws {
        let table = FlowTable(settings: FlowTableSettings(capacity: 4), source: labSource(), sourceIndex: 0)
        var feeder = TCPFeeder(table: table)
        feeder.client = IPAddress("fd77:41::1")!
        feeder.server = IPAddress("fd77:41::2")!
        feeder.tags = [.dot1Q(100), .dot1Q(200)]
        feeder.send(fromClient: true, sequence: 42, flags: [.syn])
        feeder.send(fromClient: true, sequence: 43, flags: [.ack], payload: 30)
        let flow = try #require(table.snapshot(of: feeder.key))
        #expect(flow.key.vlan == 100)
        #expect(flow.vlanCount == 2 && flow.outerVLAN == 100 && flow.innerVLAN == 200)
        #expect(flow.initiator.nextSequence == 73)
        #expect(!flow.initiator.address.isIPv4)
    }

    @Test func nonIPPacketsMakeNoFlow() {
        let table = FlowTable(settings: FlowTableSettings(capacity: 4), source: labSource(), sourceIndex: 0)
        let arp = FrameBuilder(network: .other(etherType: 0x0806), payload: Array(repeating: 0, count: 28)).build()
        feed(table, arp.bytes, linkType: arp.linkType, at: 1)
        #expect(table.flowStatistics.active == 0 && table.flowStatistics.created == 0)
    }
}
