import Foundation
import Hummingbird

/// An error answer of the control API: the HTTP status and a JSON body
/// `{"error": {"status": 400, "message": "…"}}` naming exactly what is wrong.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// Extra headers (Retry-After for 429, WWW-Authenticate for 401).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(APIErrorBody(error: .init(status: status.code, message: message)))
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
}

/// The JSON body of an error answer.
public struct APIErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var status: Int
        public var message: String
    }
    public var error: Detail
}
