import SidetapCore
import Synchronization

/// What became of cut requests, kept for metrics: how often each method reached each result,
/// the records retained per state, and the blocks the kernel holds now. `CutService` updates
/// it as records change; a scrape reads it without waiting for the service's actor.
public final class CutCounters: Sendable {
    /// A cut method and a result it reached.
    public struct Key: Sendable, Hashable {
        public var method: CutMethod
        public var result: CutResult
        public init(method: CutMethod, result: CutResult) {
            self.method = method
            self.result = result
        }
    }

    /// One consistent reading of the counters.
    public struct Snapshot: Sendable, Equatable {
        /// Times each method reached each result since start (a cut counts once for every
        /// result it reaches: a reset that escalates counts as active, then escalated).
        public var results: [Key: UInt64] = [:]
        /// Records `GET /v1/cuts` still keeps, by state.
        public var retained: [CutState: Int] = [:]
        /// Blocks the kernel holds now (active or escalated cuts with a block).
        public var activeBlocks: Int = 0

        public init() {}
    }

    private let state = Mutex(Snapshot())

    public init() {}

    /// The counters now.
    public func snapshot() -> Snapshot { state.withLock { $0 } }

    /// A record moved from `old` (nil: a new record) to `new`, reaching `result`.
    func recordChanged(from old: CutRecord?, to new: CutRecord, result: CutResult) {
        state.withLock { counts in
            counts.results[Key(method: new.method, result: result), default: 0] += 1
            if let old { counts.retained[old.state, default: 0] -= 1 }
            counts.retained[new.state, default: 0] += 1
            counts.activeBlocks += Self.holdsBlock(new) - (old.map(Self.holdsBlock) ?? 0)
        }
    }

    /// A request for `method` was refused before anything was recorded (unknown flow, not
    /// resettable, method unavailable).
    func refused(_ method: CutMethod) {
        state.withLock { $0.results[Key(method: method, result: .rejected), default: 0] += 1 }
    }

    /// A finished record was dropped from the retained list.
    func pruned(_ record: CutRecord) {
        state.withLock { $0.retained[record.state, default: 0] -= 1 }
    }

    private static func holdsBlock(_ record: CutRecord) -> Int {
        (record.state == .active || record.state == .escalated) && record.expiresAt != nil ? 1 : 0
    }
}

/// What a cut request came to, as counted in `sidetap_cuts_total{result}`: every state a
/// record reaches, plus `rejected` for requests refused before a record was made.
public struct CutResult: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// Learning mode: checked and recorded, nothing done.
    public static let learned = CutResult("learned")
    /// Executed (RSTs sent, block installed).
    public static let active = CutResult("active")
    /// A reset after which the flow stayed quiet.
    public static let done = CutResult("done")
    /// A reset that had to be followed by a block.
    public static let escalated = CutResult("escalated")
    /// A block whose TTL ended.
    public static let expired = CutResult("expired")
    /// A block lifted by a cancel request.
    public static let cancelled = CutResult("cancelled")
    /// Executing failed.
    public static let failed = CutResult("failed")
    /// Refused before anything was done: the flow was never seen, cannot be reset, or the
    /// method is not configured.
    public static let rejected = CutResult("rejected")

    /// Every result, in the order metrics list them.
    public static let all: [CutResult] = [.learned, .active, .done, .escalated, .expired, .cancelled, .failed, .rejected]

    /// The result a record in `state` has reached.
    public init(_ state: CutState) { self.init(state.rawValue) }
}
