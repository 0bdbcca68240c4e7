import SidetapCore
import SidetapFlows
import SidetapTraffic
import Testing

@Suite struct FlowTableEvictionTests {
    /// A UDP datagram of flow `n` (10.77.41.1:n → 10.77.41.2:53).
    static func datagram(_ n: UInt16) -> BuiltFrame {
        FrameBuilder(
            network: .ipv4(IPv4Header(source: IPAddress("10.77.41.1")!, destination: IPAddress("10.77.41.2")!)),
            transport: .udp(sourcePort: 10_000 + n, destinationPort: 53), payload: [1, 2, 3]
        ).build()
    }

    static func key(_ n: UInt16) -> FlowKey { FlowKey.make(datagram(n).decoded()).key }

    static func send(_ table: FlowTable, _ n: UInt16, at seconds: UInt64) {
        let frame = datagram(n)
        feed(table, frame.bytes, linkType: frame.linkType, at: seconds * 1_000_000_000)
    }

    @Test func aNewFlowInAFullTableEvictsTheLeastRecentlySeen() {
        let table = FlowTable(settings: FlowTableSettings(capacity: 3), source: labSource(), sourceIndex: 0)
        Self.send(table, 1, at: 1)
        Self.send(table, 2, at: 2)
        Self.send(table, 3, at: 3)
        Self.send(table, 1, at: 4)          // flow 2 is now the least recently seen
        Self.send(table, 4, at: 5)
        #expect(table.snapshot(of: Self.key(2)) == nil)
        for n: UInt16 in [1, 3, 4] { #expect(table.snapshot(of: Self.key(n)) != nil, "flow \(n)") }
        #expect(table.flowStatistics == FlowTableStatistics(capacity: 3, active: 3, created: 4, evictedIdle: 0, evictedFull: 1))
        Self.send(table, 5, at: 6)          // then flow 3
        #expect(table.snapshot(of: Self.key(3)) == nil)
        #expect(table.snapshots(limit: 10, where: { _ in true }).map(\.initiator.port) == [10_005, 10_004, 10_001])
        #expect(table.snapshots(limit: 2, where: { _ in true }).count == 2)
        #expect(table.snapshots(limit: 10, where: { $0.initiator.port == 10_004 }).count == 1)
        #expect(table.flowStatistics.evictedFull == 2)
    }

    @Test func idleFlowsAreRemovedAsCaptureTimeAdvances() {
        let table = FlowTable(settings: FlowTableSettings(capacity: 8, idleTimeoutNanos: 10_000_000_000), source: labSource(), sourceIndex: 0)
        Self.send(table, 1, at: 100)
        Self.send(table, 2, at: 105)
        Self.send(table, 3, at: 109)
        #expect(table.flowStatistics.active == 3)
        Self.send(table, 3, at: 112)        // flow 1 idle for 12 s
        #expect(table.snapshot(of: Self.key(1)) == nil)
        #expect(table.snapshot(of: Self.key(2)) != nil)
        #expect(table.flowStatistics == FlowTableStatistics(capacity: 8, active: 2, created: 3, evictedIdle: 1, evictedFull: 0))
        // A flow that comes back after its removal starts afresh.
        Self.send(table, 1, at: 113)
        #expect(table.snapshot(of: Self.key(1))?.firstSeenNanos == 113_000_000_000)
        #expect(table.snapshot(of: Self.key(1))?.initiator.packets == 1)
        // Without packets, the worker can age flows out itself.
        #expect(table.expireIdle(nowNanos: 200_000_000_000, limit: 10) == 3)
        #expect(table.flowStatistics.active == 0 && table.flowStatistics.evictedIdle == 4)
    }

    @Test func manyFlowsThroughASmallTableKeepTheInvariants() {
        let table = FlowTable(settings: FlowTableSettings(capacity: 64, idleTimeoutNanos: 50_000_000_000), source: labSource(), sourceIndex: 0)
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            let n = UInt16.random(in: 0..<300, using: &generator)
            Self.send(table, n, at: UInt64(step) / 100)
            if step % 1000 == 0 {
                let stats = table.flowStatistics
                #expect(stats.active <= stats.capacity)
                #expect(stats.created == UInt64(stats.active) + stats.evictedIdle + stats.evictedFull)
                #expect(table.snapshots(limit: 1000, where: { _ in true }).count == stats.active)
            }
        }
        let recent = table.snapshots(limit: 1000, where: { _ in true })
        for flow in recent { #expect(table.snapshot(of: flow.key) != nil) }
    }
}
