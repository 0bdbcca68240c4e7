import SidetapCore
import SidetapFlows
import SidetapPcap
import SidetapTestKit
import Testing

@Suite struct FlowTableCorpusTests {
    /// Every corpus packet through decode and a small table: no trap, and the table's
    /// counters agree with what its readers see.
    @Test func theWholeCorpusFlowsThroughATable() throws {
        let files = try TestPaths.corpusFiles()
        #expect(files.count >= 800)
        var decoded = DecodedPacket()
        var packets = 0
        var created: UInt64 = 0
        var tcpWithSequence = 0
        for path in files {
            guard let capture = try? OfflineCapture(path: path) else { continue }
            defer { capture.close() }
            let table = FlowTable(settings: FlowTableSettings(capacity: 32, idleTimeoutNanos: 60_000_000_000),
                                  source: SourceDescription(name: path, linkType: capture.linkType, snaplen: capture.snaplen, origin: path),
                                  sourceIndex: 0)
            reading: while true {
                guard case .packet(let packet) = capture.next() else { break reading }
                packets += 1
                PacketDecoder.decode(packet.bytes, linkType: capture.linkType, into: &decoded)
                let flow = FlowKey.make(decoded)
                table.update(decoded, key: flow.key, reversed: flow.reversed, hash: flow.key.symmetricHash,
                             wireLength: Int(packet.wireLength), timestampNanos: UInt64(bitPattern: packet.timestampNanos))
            }
            let stats = table.flowStatistics
            #expect(stats.active <= stats.capacity, "\(path)")
            #expect(stats.created == UInt64(stats.active) + stats.evictedIdle + stats.evictedFull, "\(path)")
            let all = table.snapshots(limit: 100, where: { _ in true })
            #expect(all.count == stats.active, "\(path)")
            for flow in all {
                #expect(table.snapshot(of: flow.key) != nil, "\(path) \(flow.key)")
                #expect(flow.packets > 0 && flow.lastSeenNanos >= flow.firstSeenNanos, "\(path) \(flow.key)")
                if flow.initiator.nextSequence != nil { tcpWithSequence += 1 }
            }
            created += stats.created
        }
        print("corpus through flow tables: \(packets) packets, \(created) flows, \(tcpWithSequence) TCP flows with sequence numbers")
        #expect(packets > 10_000 && created > 500 && tcpWithSequence > 100)
    }
}
