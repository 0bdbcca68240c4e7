import Foundation
import SidetapControl
import SidetapCore
import Synchronization
import Testing

/// Polls `condition` every 50 ms for up to `seconds` (generous: in a full test run other suites
/// can keep the 2-thread concurrency pool busy for a long time, delaying timers).
func eventually(seconds: Double = 120, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

@Suite struct CutServiceTests {
    func reset(ttl: Int = 30) -> CutRequest {
        CutRequest(target: .flow(FlowSamples.webTuple), method: .reset, ttlSeconds: ttl, reason: "test")
    }

    @Test func learningModeRecordsTheExactRstsAndTouchesNothing() async throws {
        let lab = ControlLab(tag: "learn")
        let flow = lab.cuts.seenFlow(FlowSamples.webTuple)
        #expect(flow != nil)
        let record = try await lab.cuts.cut(reset(), flow: flow, requestedBy: "waf01", learning: true)
        #expect(record.state == .learned && !record.executed)
        #expect(record.reset?.sequenceToInitiator == 5000, "toward the initiator: the responder's next sequence")
        #expect(record.reset?.sequenceToResponder == 1000)
        #expect(record.detail.contains("nothing was done"))
        #expect(lab.resetter.resets.withLock { $0.isEmpty })
        #expect(lab.blocker.blocks.withLock { $0.isEmpty })
        #expect(lab.audit.all.last?.outcome == "learned")
        #expect(lab.audit.all.last?.mode == "learning")
    }

    @Test func aResetOfAnUnseenFlowIsAnErrorButABlockIsAllowed() async throws {
        let lab = ControlLab(tag: "unseen", flows: [])
        await #expect(throws: CutFailure.self) { try await lab.cuts.cut(reset(), flow: nil, requestedBy: "admin", learning: false) }
        do {
            _ = try await lab.cuts.cut(reset(), flow: nil, requestedBy: "admin", learning: false)
        } catch {
            #expect(error.status == 404)
            #expect(error.description.contains("never seen"))
        }
        let block = CutRequest(target: .flow(FlowSamples.webTuple), method: .block, ttlSeconds: 30, reason: "")
        let record = try await lab.cuts.cut(block, flow: nil, requestedBy: "admin", learning: false)
        #expect(record.state == .active && record.executed)
        let blocks = lab.blocker.blocks.withLock { $0 }
        #expect(blocks.count == 1)
        #expect(blocks.first?.0 == .flow(FlowSamples.webTuple.key))
        #expect(blocks.first?.1 == 30)
    }

    @Test func aQuietFlowAfterAResetIsDoneAndABusyOneIsEscalated() async throws {
        let lab = ControlLab(tag: "escalate", escalation: .milliseconds(200))
        let quiet = try await lab.cuts.cut(reset(), flow: lab.cuts.seenFlow(FlowSamples.webTuple), requestedBy: "admin", learning: false)
        #expect(quiet.state == .active)
        #expect(lab.resetter.resets.withLock { $0.count } == 1)
        // Timers run on the shared pool, which other suites may keep busy: wait for the outcome.
        #expect(await eventually { await lab.cuts.record(quiet.id)?.state == .done })
        #expect(lab.blocker.blocks.withLock { $0.isEmpty })

        let busy = try await lab.cuts.cut(reset(ttl: 45), flow: lab.cuts.seenFlow(FlowSamples.webTuple), requestedBy: "admin", learning: false)
        // The guest keeps sending: its next sequence moves on after the reset.
        lab.flows.update { $0 = [FlowSamples.web(nextInitiator: 1400)] }
        #expect(await eventually { await lab.cuts.record(busy.id)?.state == .escalated })
        let escalated = await lab.cuts.record(busy.id)
        #expect(escalated?.state == .escalated)
        #expect(escalated?.detail.contains("escalated to a block for 45 s") == true)
        #expect(lab.blocker.blocks.withLock { $0.map(\.1) } == [45])
        #expect(lab.audit.all.contains { $0.cut == busy.id && $0.outcome == "escalated" })
    }

    @Test func sequenceWrapCountsAsData() {
        let before = FlowSamples.web(nextInitiator: 0xFFFF_FFF0)
        #expect(CutService.carriedData(after: before, later: FlowSamples.web(nextInitiator: 0x10)))
        #expect(!CutService.carriedData(after: before, later: before))
        #expect(!CutService.carriedData(after: before, later: nil))
    }

    @Test func blocksExpireAndCanBeCancelled() async throws {
        let lab = ControlLab(tag: "expire")
        let network = CutRequest(target: .network(CIDR(address: IPAddress("203.0.113.0")!, prefixLength: 24)), method: .block, ttlSeconds: 1, reason: "")
        let short = try await lab.cuts.cut(network, flow: nil, requestedBy: "admin", learning: false)
        #expect(lab.blocker.blocks.withLock { $0.first?.0 } == .network(IPAddress("203.0.113.0")!, prefixLength: 24))
        #expect(await eventually { await lab.cuts.record(short.id)?.state == .expired })

        var long = network
        long.ttlSeconds = 600
        let record = try await lab.cuts.cut(long, flow: nil, requestedBy: "admin", learning: false)
        let cancelled = try await lab.cuts.cancel(record.id, by: "admin")
        #expect(cancelled.state == .cancelled)
        #expect(lab.blocker.unblocks.withLock { $0 } == [.network(IPAddress("203.0.113.0")!, prefixLength: 24)])
        await #expect(throws: CutFailure.self) { try await lab.cuts.cancel("cut-nope", by: "admin") }

        await lab.cuts.shutdown()
        #expect(lab.blocker.removedAll.withLock { $0 })
    }

    @Test func nothingHappensWhenTheAuditLogCannotBeWritten() async throws {
        let lab = ControlLab(tag: "noaudit")
        lab.audit.failing.withLock { $0 = true }
        let block = CutRequest(target: .flow(FlowSamples.webTuple), method: .block, ttlSeconds: 30, reason: "")
        do {
            _ = try await lab.cuts.cut(block, flow: nil, requestedBy: "admin", learning: true)
            Issue.record("a cut went through without an audit record")
        } catch {
            #expect(error.status == 503)
        }
        #expect(await lab.cuts.list().isEmpty)
    }

    @Test func aFlowWithoutSequenceNumbersCannotBeReset() async throws {
        var flow = FlowSamples.web()
        flow.responder.nextSequence = nil
        let lab = ControlLab(tag: "noseq", flows: [flow])
        do {
            _ = try await lab.cuts.cut(reset(), flow: flow, requestedBy: "admin", learning: false)
            Issue.record("reset without sequence numbers")
        } catch {
            #expect(error.status == 409)
        }
        #expect(lab.resetter.resets.withLock { $0.isEmpty })
    }
}
