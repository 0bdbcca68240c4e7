import Foundation
import SidetapCore

/// Where a cut stands.
public enum CutState: String, Sendable, Hashable, Codable {
    /// Learning mode: checked and recorded, nothing done on the wire.
    case learned
    /// Executed; for a block, the kernel still holds it.
    case active
    /// A reset was sent and the flow stayed quiet (no escalation needed).
    case done
    /// The flow carried data after the reset, so it was blocked as well.
    case escalated
    /// The block's TTL ended (the kernel removed it).
    case expired
    /// Lifted before its TTL by a cancel request.
    case cancelled
    /// Executing failed; `detail` says why.
    case failed
}

/// One cut as the control channel reports it (`GET /v1/cuts/{id}`).
public struct CutRecord: Sendable, Hashable, Encodable {
    public var id: String
    public var target: CutTargetView
    public var method: CutMethod
    public var ttl: Int
    public var reason: String
    /// The appliance (or "admin" for the local socket) that asked.
    public var requestedBy: String
    /// "learning" or "enforcing": the mode the request was handled in.
    public var mode: String
    public var state: CutState
    /// True when something was done on the wire or in the kernel.
    public var executed: Bool
    public var createdAt: Date
    /// When the block ends (nil for a reset alone).
    public var expiresAt: Date?
    /// The RST sequence numbers used (or that learning mode would use).
    public var reset: ResetView?
    /// What happened, in words.
    public var detail: String
    /// The guest of the flow, when the tap saw it.
    public var guest: String?

    enum CodingKeys: String, CodingKey {
        case id, target, method, ttl, reason, mode, state, executed, reset, detail, guest
        case requestedBy = "requested_by", createdAt = "created_at", expiresAt = "expires_at"
    }
}

/// A cut target in JSON: a connection or a network.
public struct CutTargetView: Sendable, Hashable, Encodable {
    public var flow: FlowTuple?
    public var network: String?

    public init(_ target: CutTarget) {
        switch target {
        case .flow(let tuple): flow = tuple
        case .network(let prefix): network = prefix.description
        }
    }
}

/// The RSTs of a reset in JSON.
public struct ResetView: Sendable, Hashable, Encodable {
    public var interface: String
    public var sequenceToInitiator: UInt32
    public var sequenceToResponder: UInt32

    public init(_ report: ResetReport) {
        interface = report.interface
        sequenceToInitiator = report.sequenceToInitiator
        sequenceToResponder = report.sequenceToResponder
    }

    enum CodingKeys: String, CodingKey {
        case interface, sequenceToInitiator = "sequence_to_initiator", sequenceToResponder = "sequence_to_responder"
    }
}
