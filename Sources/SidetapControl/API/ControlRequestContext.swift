import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// The request context of the control API: the channel (for the TLS peer certificate and
/// address), who is asking once authenticated, and notes the handler leaves for the audit record.
public struct ControlRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    public let channel: any Channel
    /// Set by `AccessMiddleware` before any route runs.
    public var requester: Requester?
    /// Filled by handlers, read by `AccessMiddleware` when it writes the audit record.
    public let notes = AuditNotes()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The authenticated requester; routes run only after `AccessMiddleware` set it.
    public var who: Requester { requester ?? .nobody }

    /// JSON answers carry ISO 8601 times.
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Control requests are small: 64 KiB is far more than any valid body.
    public var maxUploadSize: Int { 65_536 }
}

/// What a handler adds to its request's audit record: the cut it created, the target, why
/// it refused.
public final class AuditNotes: Sendable {
    private let state = Mutex<(cut: String?, target: String?, reason: String?, mode: String?)>((nil, nil, nil, nil))

    public init() {}

    public func set(cut: String? = nil, target: String? = nil, reason: String? = nil, mode: String? = nil) {
        state.withLock {
            if let cut { $0.cut = cut }
            if let target { $0.target = target }
            if let reason { $0.reason = reason }
            if let mode { $0.mode = mode }
        }
    }

    public var values: (cut: String?, target: String?, reason: String?, mode: String?) { state.withLock { $0 } }
}
