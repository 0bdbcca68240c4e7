import Foundation
import SidetapCore

/// Carries out cut requests and keeps their records: resets from the flow table's sequence
/// numbers, kernel blocks with a TTL, verified escalation from reset to block, expiry and
/// cancellation — each step audited and published as an event.
///
/// Learning mode goes through the same checks and records what would have been done, with
/// the exact RST sequence numbers, but touches neither the wire nor the kernel.
public actor CutService {
    /// How cuts behave.
    public struct Settings: Sendable {
        /// After a reset, how long to watch the flow for more data before escalating to a block.
        public var escalationWindow: Duration
        /// The TTL used when a request gives none, and the largest accepted.
        public var defaultTTL: Int
        public var maximumTTL: Int
        /// Finished records kept for `GET /v1/cuts` (the audit log keeps them all).
        public var retainedRecords: Int

        public init(escalationWindow: Duration = .seconds(2), defaultTTL: Int = 300, maximumTTL: Int = 86_400, retainedRecords: Int = 10_000) {
            self.escalationWindow = escalationWindow
            self.defaultTTL = defaultTTL
            self.maximumTTL = maximumTTL
            self.retainedRecords = retainedRecords
        }
    }

    public nonisolated let settings: Settings
    /// Results, retained records and active blocks, readable without awaiting this actor.
    public nonisolated let counters = CutCounters()
    let flows: @Sendable () -> [any FlowLookup]
    let resetter: (any ConnectionResetter)?
    let blocker: (any TrafficBlocker)?
    let audit: any AuditSink
    let events: EventHub
    private var records: [String: CutRecord] = [:]
    private var order: [String] = []
    private var timers: [String: Task<Void, Never>] = [:]
    private var counter = 0
    private let idPrefix = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)

    public init(settings: Settings = Settings(), flows: @escaping @Sendable () -> [any FlowLookup],
                resetter: (any ConnectionResetter)?, blocker: (any TrafficBlocker)?, audit: any AuditSink, events: EventHub) {
        self.settings = settings
        self.flows = flows
        self.resetter = resetter
        self.blocker = blocker
        self.audit = audit
        self.events = events
    }

    /// The flow the tap saw for this connection (either direction, any VLAN), most recent first
    /// across all sources.
    public nonisolated func seenFlow(_ tuple: FlowTuple) -> FlowSnapshot? {
        let key = tuple.key
        var best: FlowSnapshot?
        for table in flows() {
            var found = table.snapshot(of: key)
            if found == nil { found = table.snapshots(limit: 1) { tuple.matches($0.key) }.first }
            if let found, found.lastSeenNanos >= (best?.lastSeenNanos ?? 0) { best = found }
        }
        return best
    }

    /// Executes (enforcing) or records (learning) a cut that was already authorized.
    public func cut(_ request: CutRequest, flow: FlowSnapshot?, requestedBy: String, learning: Bool) throws(CutFailure) -> CutRecord {
        do {
            return try execute(request, flow: flow, requestedBy: requestedBy, learning: learning)
        } catch {
            switch error {
            case .unknownFlow, .notResettable, .unavailable: counters.refused(request.method)
            case .failed, .unknownCut, .auditUnavailable: break
            }
            throw error
        }
    }

    private func execute(_ request: CutRequest, flow: FlowSnapshot?, requestedBy: String, learning: Bool) throws(CutFailure) -> CutRecord {
        counter += 1
        let id = "cut-\(idPrefix)-\(counter)"
        let now = Date()
        var record = CutRecord(
            id: id, target: CutTargetView(request.target), method: request.method, ttl: request.ttlSeconds, reason: request.reason,
            requestedBy: requestedBy, mode: learning ? "learning" : "enforcing", state: .learned, executed: false,
            createdAt: now, expiresAt: nil, reset: nil, detail: "", guest: flow?.guest)

        let wantsReset = request.method != .block
        let wantsBlock = request.method != .reset
        var resetPlan: ResetReport?
        if wantsReset {
            guard let flow else {
                throw .unknownFlow("Sidetap has never seen \(request.target); a reset needs a flow seen on a tapped interface (a block does not)")
            }
            resetPlan = try Self.plan(flow)
        }
        if learning {
            var parts: [String] = []
            if let resetPlan {
                record.reset = ResetView(resetPlan)
                parts.append("would send RST seq \(resetPlan.sequenceToInitiator) toward the initiator and seq \(resetPlan.sequenceToResponder) toward the responder on \(resetPlan.interface)")
            }
            if wantsBlock { parts.append("would block \(request.target) for \(request.ttlSeconds) s") }
            record.detail = "learning mode: " + parts.joined(separator: "; ") + "; nothing was done"
            try store(record, event: "learned")
            return record
        }

        if wantsReset, let flow {
            guard let resetter else { throw .unavailable("reset is not available: no interface to inject on is configured") }
            do {
                let report = try resetter.reset(flow)
                record.reset = ResetView(report)
                record.executed = true
                record.detail = "sent RST seq \(report.sequenceToInitiator) toward the initiator and seq \(report.sequenceToResponder) toward the responder on \(report.interface)"
            } catch {
                record.state = .failed
                record.detail = "reset failed: \(error)"
                try store(record, event: "failed")
                throw .failed(record.detail)
            }
        }
        if wantsBlock {
            guard let blocker else { throw .unavailable("block is not available: nftables blocking is not configured") }
            do {
                try blocker.block(request.target.blockTarget, ttlSeconds: request.ttlSeconds)
            } catch {
                record.state = .failed
                record.detail = (record.detail.isEmpty ? "" : record.detail + "; ") + "block failed: \(error)"
                try store(record, event: "failed")
                throw .failed(record.detail)
            }
            record.executed = true
            record.expiresAt = now.addingTimeInterval(TimeInterval(request.ttlSeconds))
            record.detail = (record.detail.isEmpty ? "" : record.detail + "; ") + "blocked \(request.target) for \(request.ttlSeconds) s"
        }
        record.state = .active
        try store(record, event: "active")
        if wantsBlock {
            scheduleExpiry(id, after: request.ttlSeconds)
        } else if let flow, case .flow(let tuple) = request.target {
            scheduleEscalationCheck(id, tuple: tuple, atReset: flow, ttl: request.ttlSeconds)
        }
        return record
    }

    /// Lifts a cut's block before its TTL ends (a reset alone has nothing to lift).
    public func cancel(_ id: String, by requester: String) throws(CutFailure) -> CutRecord {
        guard var record = records[id] else { throw .unknownCut(id) }
        guard record.state == .active || record.state == .escalated else { return record }
        if record.expiresAt != nil, let blocker, let target = Self.target(of: record) {
            do {
                try blocker.unblock(target.blockTarget)
            } catch {
                throw .failed("cancel failed: \(error)")
            }
        }
        timers.removeValue(forKey: id)?.cancel()
        record.state = .cancelled
        record.detail += "; cancelled by \(requester)"
        try store(record, event: "cancelled")
        return record
    }

    public func record(_ id: String) -> CutRecord? { records[id] }

    /// Every retained record, newest first.
    public func list() -> [CutRecord] { order.reversed().compactMap { records[$0] } }

    /// Cuts by state, for metrics.
    public func countsByState() -> [CutState: Int] {
        var counts: [CutState: Int] = [:]
        for record in records.values { counts[record.state, default: 0] += 1 }
        return counts
    }

    /// Stops timers and removes every block Sidetap holds (clean shutdown).
    public func shutdown() {
        for timer in timers.values { timer.cancel() }
        timers.removeAll()
        try? blocker?.removeAll()
    }

    // MARK: - Internals

    /// The RSTs a reset of `flow` sends, without sending them.
    static func plan(_ flow: FlowSnapshot) throws(CutFailure) -> ResetReport {
        guard flow.key.ipProtocol == 6 else { throw .notResettable("the flow is not TCP; use method block") }
        guard let toInitiator = flow.responder.nextSequence, let toResponder = flow.initiator.nextSequence else {
            throw .notResettable("no TCP segment seen in both directions yet, so the sequence numbers each end expects are unknown; use method block")
        }
        return ResetReport(interface: flow.source.interface ?? flow.source.name, sequenceToInitiator: toInitiator, sequenceToResponder: toResponder)
    }

    static func target(of record: CutRecord) -> CutTarget? {
        if let flow = record.target.flow { return .flow(flow) }
        if let text = record.target.network, case .success(let prefix) = CIDR.parse(text) { return .network(prefix) }
        return nil
    }

    private func store(_ record: CutRecord, event: String) throws(CutFailure) {
        do {
            try audit.append(AuditEntry(kind: "cut", outcome: event, reason: record.detail, cut: record.id,
                                        target: "\(Self.target(of: record).map { "\($0)" } ?? "?")", cutMethod: record.method.rawValue,
                                        mode: record.mode))
        } catch {
            throw .auditUnavailable("\(error)")
        }
        counters.recordChanged(from: records[record.id], to: record, result: CutResult(record.state))
        if records[record.id] == nil { order.append(record.id) }
        records[record.id] = record
        events.publish(ControlEvent(kind: "cut", event: event, subject: record.id, detail: record.detail))
        prune()
    }

    private func prune() {
        guard order.count > settings.retainedRecords else { return }
        var keep: [String] = []
        var excess = order.count - settings.retainedRecords
        for id in order {
            if excess > 0, let record = records[id], record.state != .active && record.state != .escalated {
                records.removeValue(forKey: id)
                counters.pruned(record)
                excess -= 1
            } else {
                keep.append(id)
            }
        }
        order = keep
    }

    private func scheduleExpiry(_ id: String, after seconds: Int) {
        timers[id]?.cancel()
        timers[id] = Task { [weak self] in
            try? await Task.sleep(for: .seconds(seconds))
            guard !Task.isCancelled else { return }
            await self?.expire(id)
        }
    }

    private func expire(_ id: String) {
        timers.removeValue(forKey: id)
        guard var record = records[id], record.state == .active || record.state == .escalated else { return }
        record.state = .expired
        record.detail += "; the block's TTL ended and the kernel removed it"
        try? store(record, event: "expired")
    }

    private func scheduleEscalationCheck(_ id: String, tuple: FlowTuple, atReset: FlowSnapshot, ttl: Int) {
        let window = settings.escalationWindow
        timers[id] = Task { [weak self] in
            try? await Task.sleep(for: window)
            guard !Task.isCancelled, let self else { return }
            let later = self.seenFlow(tuple)
            await self.finishReset(id, tuple: tuple, atReset: atReset, later: later, ttl: ttl)
        }
    }

    /// True when either endpoint sent new data (its next sequence moved forward) after the reset.
    public static func carriedData(after reset: FlowSnapshot, later: FlowSnapshot?) -> Bool {
        guard let later else { return false }
        func advanced(_ before: UInt32?, _ after: UInt32?) -> Bool {
            guard let after else { return false }
            guard let before else { return true }
            let distance = after &- before
            return distance != 0 && distance < 0x8000_0000
        }
        let sameOrientation = later.initiator.address == reset.initiator.address && later.initiator.port == reset.initiator.port
        let (a, b) = sameOrientation ? (later.initiator, later.responder) : (later.responder, later.initiator)
        return advanced(reset.initiator.nextSequence, a.nextSequence) || advanced(reset.responder.nextSequence, b.nextSequence)
    }

    private func finishReset(_ id: String, tuple: FlowTuple, atReset: FlowSnapshot, later: FlowSnapshot?, ttl: Int) {
        timers.removeValue(forKey: id)
        guard var record = records[id], record.state == .active else { return }
        guard Self.carriedData(after: atReset, later: later) else {
            record.state = .done
            record.detail += "; no data seen on the flow within \(settings.escalationWindow) after the reset"
            try? store(record, event: "done")
            return
        }
        guard let blocker else {
            record.state = .failed
            record.detail += "; the flow still carried data after the reset and no blocker is configured to escalate"
            try? store(record, event: "failed")
            return
        }
        do {
            try blocker.block(CutTarget.flow(tuple).blockTarget, ttlSeconds: ttl)
        } catch {
            record.state = .failed
            record.detail += "; the flow still carried data after the reset and escalating to a block failed: \(error)"
            try? store(record, event: "failed")
            return
        }
        record.state = .escalated
        record.executed = true
        record.expiresAt = Date().addingTimeInterval(TimeInterval(ttl))
        record.detail += "; the flow still carried data after the reset, so it was escalated to a block for \(ttl) s"
        try? store(record, event: "escalated")
        scheduleExpiry(id, after: ttl)
    }
}
