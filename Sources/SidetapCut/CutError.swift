/// Why a cut could not be carried out.
public enum CutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The flow cannot be reset (not TCP, no sequence numbers seen yet, no link addresses).
    case notResettable(String)
    /// A system call or a helper program failed.
    case failed(operation: String, reason: String)

    public var description: String {
        switch self {
        case .notResettable(let reason): return "cannot reset: \(reason)"
        case .failed(let operation, let reason): return "\(operation) failed: \(reason)"
        }
    }
}
