import Foundation
import SidetapCore
import SidetapFlows
import SidetapTraffic
import Synchronization
import Testing

@Suite struct FlowTableConcurrencyTests {
    final class Stop: Sendable {
        let done = Atomic<Bool>(false)
        let checked = Atomic<Int>(0)
        let torn = Atomic<Int>(0)
    }

    /// Every frame of flow n has the same wire length and comes from MAC n and port 20000+n,
    /// so a copy mixing two writes (packets without their bytes, one flow's key with another's
    /// endpoint) is visible.
    @Test func readersNeverSeeATornEntry() throws {
        let flowCount = 96
        // Fewer slots than flows: slots are evicted and reused while readers copy them.
        let table = FlowTable(settings: FlowTableSettings(capacity: 64), source: labSource(), sourceIndex: 0)
        var packets: [(DecodedPacket, FlowKey, Bool, UInt32, Int)] = []
        for n in 0..<flowCount {
            for fromLower in [true, false] {
                let a = IPAddress("10.77.41.1")!
                let b = IPAddress("10.77.41.2")!
                let frame = FrameBuilder(
                    link: .ethernet(source: 0x0200_0000_0000 | UInt64(n) << 8 | (fromLower ? 1 : 2)),
                    network: .ipv4(IPv4Header(source: fromLower ? a : b, destination: fromLower ? b : a)),
                    transport: .tcp(TCPHeader(sourcePort: fromLower ? UInt16(20_000 + n) : 80, destinationPort: fromLower ? 80 : UInt16(20_000 + n),
                                              sequence: 1, flags: [.ack])),
                    payload: Array(repeating: 0, count: n)
                ).build()
                let decoded = frame.decoded()
                let flow = FlowKey.make(decoded)
                packets.append((decoded, flow.key, flow.reversed, flow.key.symmetricHash, frame.bytes.count))
            }
        }
        let all = packets
        let stop = Stop()
        let readers = (0..<2).map { index in
            Thread {
                var keys: [FlowKey] = []
                for p in all where !p.2 { keys.append(p.1) }
                var round = 0
                while !stop.done.load(ordering: .acquiring) {
                    round += 1
                    let flows = index == 0
                        ? table.snapshots(limit: 1000, where: { _ in true })
                        : keys.compactMap { table.snapshot(of: $0) }
                    for flow in flows {
                        let n = Int(flow.key.upperPort == 80 ? flow.key.lowerPort : flow.key.upperPort) - 20_000
                        let wire = UInt64(max(60, 54 + n))
                        var ok = flow.packets > 0
                        for side in [flow.initiator, flow.responder] {
                            ok = ok && side.bytes == side.packets * wire
                            if side.packets > 0 {
                                ok = ok && side.mac >> 8 & 0xFF == UInt64(n)
                                ok = ok && side.mac & 0xFF == (side.port == 80 ? 2 : 1)
                            }
                        }
                        if !ok { stop.torn.add(1, ordering: .relaxed) }
                        stop.checked.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        for reader in readers { reader.start() }
        var state: UInt64 = 0x9E37_79B9
        for step in 0..<1_000_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let p = packets[Int(state >> 33) % packets.count]
            table.update(p.0, key: p.1, reversed: p.2, hash: p.3, wireLength: p.4, timestampNanos: UInt64(step))
        }
        stop.done.store(true, ordering: .releasing)
        while readers.contains(where: { !$0.isFinished }) { usleep(1000) }
        #expect(stop.torn.load(ordering: .relaxed) == 0)
        #expect(stop.checked.load(ordering: .relaxed) > 1000)
        let stats = table.flowStatistics
        #expect(stats.active == 64 && stats.evictedFull > 0)
        print("concurrent readers checked \(stop.checked.load(ordering: .relaxed)) snapshots, evictions \(stats.evictedFull)")
    }
}
