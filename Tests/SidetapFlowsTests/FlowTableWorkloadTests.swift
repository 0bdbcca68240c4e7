import Foundation
import SidetapCore
import SidetapFlows
import SidetapTraffic
import Testing

@Suite struct FlowTableWorkloadTests {
    /// A million packets over 20 000 TCP flows (both directions) through a default-sized table:
    /// prints the cost per update (meaningful in a release build, `swift test -c release`) and
    /// checks the counters afterwards. No timing assertion: shared CI machines vary too much.
    @Test func aMillionPacketsOverManyFlows() {
        let flows = 20_000
        let table = FlowTable(settings: FlowTableSettings(), source: labSource(), sourceIndex: 0)
        var packets: [(DecodedPacket, FlowKey, Bool, UInt32, Int)] = []
        packets.reserveCapacity(flows * 2)
        let template = FrameBuilder(
            network: .ipv4(IPv4Header(source: IPAddress("10.77.41.1")!, destination: IPAddress("10.77.41.2")!)),
            transport: .tcp(TCPHeader(sourcePort: 1, destinationPort: 443, sequence: 1, flags: [.ack, .psh])),
            payload: Array(repeating: 0, count: 100)
        ).build().decoded()
        for n in 0..<flows {
            for reply in [false, true] {
                var decoded = template
                let host = IPAddress(ipv4: 0x0A4D_2900 | UInt32(n % 200 + 1))
                decoded.source = reply ? IPAddress("10.77.42.1")! : host
                decoded.destination = reply ? host : IPAddress("10.77.42.1")!
                decoded.sourcePort = reply ? 443 : UInt16(10_000 + n / 200)
                decoded.destinationPort = reply ? UInt16(10_000 + n / 200) : 443
                decoded.tcpSequence = UInt32(n) &* 7919
                let flow = FlowKey.make(decoded)
                packets.append((decoded, flow.key, flow.reversed, flow.key.symmetricHash, 154))
            }
        }
        var state: UInt64 = 12345
        let order = (0..<1_000_000).map { _ -> Int32 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int32(truncatingIfNeeded: (state >> 33) % UInt64(packets.count))
        }
        let start = ContinuousClock.now
        packets.withUnsafeBufferPointer { all in
            for (step, index) in order.enumerated() {
                let p = all[Int(index)]
                table.update(p.0, key: p.1, reversed: p.2, hash: p.3, wireLength: p.4, timestampNanos: UInt64(step) &* 1000)
            }
        }
        let elapsed = start.duration(to: .now).components
        let nanos = Double(elapsed.seconds) * 1e9 + Double(elapsed.attoseconds) / 1e9
        print("FlowTable.update: \(nanos / 1e6) ns/packet over 1e6 packets, \(flows) flows")
        let stats = table.flowStatistics
        #expect(stats.active == flows && stats.created == UInt64(flows))
        #expect(table.snapshots(limit: .max, where: { _ in true }).reduce(0) { $0 + $1.packets } == 1_000_000)
    }
}
