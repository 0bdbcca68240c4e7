/// Why a request was refused, with the HTTP status and the message to send. `reason` is the
/// precise cause for the audit log; `message` is what the client sees (for 401 it never says
/// whether the appliance exists).
public struct AccessDenial: Error, Sendable, Hashable, CustomStringConvertible {
    /// The precise cause.
    public enum Reason: Sendable, Hashable {
        /// No `Authorization: Bearer …` header (or a malformed one).
        case missingToken
        /// The token matches no appliance.
        case unknownToken
        /// The token matched, but the client certificate is missing or not the configured one.
        case certificateMismatch(appliance: String)
        /// The appliance may not perform the action.
        case actionNotAllowed(appliance: String, action: AccessAction)
        /// The flow is outside the appliance's scope.
        case outOfScope(appliance: String)
        /// The appliance sent requests faster than its rate limit.
        case rateLimited(appliance: String, retryAfterSeconds: Int)
        /// The appliance's clearance does not dominate the flow's label (both in long names).
        case notCleared(appliance: String, label: String, clearance: String)
    }

    public var reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    /// 401, 403 or 429.
    public var status: Int {
        switch reason {
        case .missingToken, .unknownToken, .certificateMismatch: return 401
        case .actionNotAllowed, .outOfScope, .notCleared: return 403
        case .rateLimited: return 429
        }
    }

    /// The response body's message.
    public var message: String {
        switch reason {
        case .missingToken: return "authentication required: send Authorization: Bearer <token>"
        case .unknownToken, .certificateMismatch: return "invalid credentials"
        case .actionNotAllowed(_, let action): return "this appliance may not perform \(action)"
        case .outOfScope: return "the flow is outside this appliance's scope"
        case .rateLimited(_, let seconds): return "too many requests, retry after \(seconds) s"
        case .notCleared: return "this appliance is not cleared for the flow's sensitivity label"
        }
    }

    /// Headers the response carries: `WWW-Authenticate` for 401, `Retry-After` for 429.
    public var headers: [(name: String, value: String)] {
        switch reason {
        case .missingToken, .unknownToken, .certificateMismatch:
            return [("WWW-Authenticate", "Bearer realm=\"sidetap\"")]
        case .rateLimited(_, let seconds):
            return [("Retry-After", String(seconds))]
        case .actionNotAllowed, .outOfScope, .notCleared:
            return []
        }
    }

    /// For logs: the status and the precise cause.
    public var description: String {
        switch reason {
        case .missingToken: return "401 no bearer token"
        case .unknownToken: return "401 token matches no appliance"
        case .certificateMismatch(let name): return "401 appliance \(name): client certificate missing or not the configured one"
        case .actionNotAllowed(let name, let action): return "403 appliance \(name) may not perform \(action)"
        case .outOfScope(let name): return "403 appliance \(name): flow out of scope"
        case .rateLimited(let name, let seconds): return "429 appliance \(name) rate limited, retry after \(seconds) s"
        case .notCleared(let name, let label, let clearance):
            return "403 appliance \(name) not cleared for the flow: its label \(label) is not dominated by the clearance \(clearance)"
        }
    }
}
