import Foundation

/// Something the control channel tells watchers about (`GET /v1/events`, `sidetap ctl watch`):
/// a cut created, executed, escalated, expired or cancelled, or a source or port changing state.
public struct ControlEvent: Sendable, Hashable, Encodable {
    /// "cut", "source" or "port".
    public var kind: String
    /// What happened: for cuts the new state ("learned", "active", "escalated", …); for sources
    /// and ports their new state ("capturing", "waiting", "connected", "failing", …).
    public var event: String
    /// The cut id, source name or port name.
    public var subject: String
    public var time: Date
    public var detail: String

    public init(kind: String, event: String, subject: String, time: Date = Date(), detail: String) {
        self.kind = kind
        self.event = event
        self.subject = subject
        self.time = time
        self.detail = detail
    }

    /// The event as one server-sent-events message.
    public var serverSentEvent: String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "event: \(kind)\ndata: \(data)\n\n"
    }
}
