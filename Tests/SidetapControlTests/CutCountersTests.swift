import SidetapControl
import SidetapCore
import Testing

/// `CutService.counters`: results by method, retained records by state and blocks held, as
/// `/metrics` reads them without awaiting the service.
@Suite struct CutCountersTests {
    typealias Key = CutCounters.Key

    @Test func everyOutcomeIsCountedAndBlocksAreTracked() async throws {
        let lab = ControlLab(tag: "counters", escalation: .milliseconds(100))
        let counters = lab.cuts.counters
        #expect(counters.snapshot() == CutCounters.Snapshot())

        // Learning: recorded, nothing held.
        let reset = CutRequest(target: .flow(FlowSamples.webTuple), method: .reset, ttlSeconds: 30, reason: "")
        _ = try await lab.cuts.cut(reset, flow: lab.cuts.seenFlow(FlowSamples.webTuple), requestedBy: "ids", learning: true)
        // Refused before a record exists: a reset of a flow never seen.
        await #expect(throws: CutFailure.self) { try await lab.cuts.cut(reset, flow: nil, requestedBy: "admin", learning: false) }
        // A block, then its cancel.
        let block = CutRequest(target: .network(CIDR(address: IPAddress("203.0.113.0")!, prefixLength: 24)), method: .block, ttlSeconds: 600, reason: "")
        let held = try await lab.cuts.cut(block, flow: nil, requestedBy: "admin", learning: false)
        #expect(counters.snapshot().activeBlocks == 1)
        #expect(counters.snapshot().retained[.active] == 1)
        _ = try await lab.cuts.cancel(held.id, by: "admin")
        // A reset of a quiet flow: active, then done.
        let done = try await lab.cuts.cut(reset, flow: lab.cuts.seenFlow(FlowSamples.webTuple), requestedBy: "admin", learning: false)
        #expect(await eventually { await lab.cuts.record(done.id)?.state == .done })

        let now = counters.snapshot()
        #expect(now.results == [
            Key(method: .reset, result: .learned): 1, Key(method: .reset, result: .rejected): 1,
            Key(method: .block, result: .active): 1, Key(method: .block, result: .cancelled): 1,
            Key(method: .reset, result: .active): 1, Key(method: .reset, result: .done): 1,
        ])
        #expect(now.activeBlocks == 0)
        #expect(now.retained.filter { $0.value != 0 } == [.learned: 1, .cancelled: 1, .done: 1])
        // The counters agree with the records the service keeps.
        #expect(now.retained.filter { $0.value != 0 } == (await lab.cuts.countsByState()))
    }

    @Test func pruningForgetsRetainedRecordsButNotTotals() async throws {
        let lab = ControlLab(tag: "prune")
        let cuts = CutService(settings: .init(retainedRecords: 2), flows: { [] }, resetter: nil, blocker: lab.blocker, audit: lab.audit, events: lab.events)
        let block = CutRequest(target: .flow(FlowSamples.webTuple), method: .block, ttlSeconds: 30, reason: "")
        for _ in 0..<5 { _ = try await cuts.cut(block, flow: nil, requestedBy: "ids", learning: true) }
        let now = cuts.counters.snapshot()
        #expect(now.results[Key(method: .block, result: .learned)] == 5)
        #expect(now.retained[.learned] == 2)
        #expect(await cuts.list().count == 2)
    }
}
