/// Why a cut request could not be carried out, with the HTTP status it is answered with.
public enum CutFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A reset for a flow the tap has never seen (404).
    case unknownFlow(String)
    /// The flow cannot be reset (409): not TCP, no sequence numbers yet, no link addresses.
    case notResettable(String)
    /// The cutter for this method is not configured or not usable (503).
    case unavailable(String)
    /// Executing failed (502): the kernel or the interface refused.
    case failed(String)
    /// No such cut id (404).
    case unknownCut(String)
    /// The audit log could not be written, so nothing was done (503).
    case auditUnavailable(String)

    public var status: Int {
        switch self {
        case .unknownFlow, .unknownCut: return 404
        case .notResettable: return 409
        case .unavailable, .auditUnavailable: return 503
        case .failed: return 502
        }
    }

    public var description: String {
        switch self {
        case .unknownFlow(let text), .notResettable(let text), .unavailable(let text), .failed(let text): return text
        case .unknownCut(let id): return "no cut with id '\(id)'"
        case .auditUnavailable(let text): return "audit log unavailable, nothing done: \(text)"
        }
    }
}
