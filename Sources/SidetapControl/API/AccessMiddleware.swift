import Crypto
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import SidetapEvidence

/// The first thing every control request meets: who is asking (the administrator on the Unix
/// socket; an appliance by bearer token, and client certificate where its config requires one,
/// on TLS), whether it is within its request rate, and — after the route answered or refused —
/// one audit record with the outcome.
public struct AccessMiddleware: RouterMiddleware {
    public typealias Context = ControlRequestContext

    /// Which listener this middleware guards.
    public enum Channel: String, Sendable {
        case unix, tls
    }

    let channel: Channel
    let accessHolder: AccessHolder
    let audit: any AuditSink
    let logger: Logger

    public init(channel: Channel, access: AccessHolder, audit: any AuditSink, logger: Logger) {
        self.channel = channel
        self.accessHolder = access
        self.audit = audit
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let remote = context.channel.remoteAddress.map { "\($0)" }
        switch channel {
        case .unix:
            context.requester = .administrator
        case .tls:
            let fingerprint = await Self.certificateFingerprint(context.channel)
            let access = accessHolder.current
            switch access.authenticate(authorization: request.headers[.authorization], certificateSHA256: fingerprint) {
            case .success(let appliance):
                context.requester = Requester(appliance: appliance)
                if let denial = access.admit(appliance) {
                    record(request, context, remote: remote, status: denial.status, outcome: "limited", reason: denial.description)
                    throw Self.error(for: denial)
                }
            case .failure(let denial):
                record(request, context, remote: remote, status: denial.status, outcome: "denied", reason: denial.description)
                throw Self.error(for: denial)
            }
        }
        do {
            let response = try await next(request, context)
            record(request, context, remote: remote, status: response.status.code, outcome: "allowed", reason: nil)
            return response
        } catch let error as APIError {
            let outcome = error.status.code == 403 ? "denied" : error.status.code == 400 ? "invalid" : "failed"
            record(request, context, remote: remote, status: error.status.code, outcome: outcome, reason: error.message)
            throw error
        } catch let error as HTTPError {
            record(request, context, remote: remote, status: error.status.code, outcome: error.status.code < 500 ? "invalid" : "failed",
                   reason: error.body ?? "\(error.status)")
            throw error
        } catch {
            record(request, context, remote: remote, status: 500, outcome: "failed", reason: "\(error)")
            throw error
        }
    }

    /// The APIError a denial is answered with, with Retry-After or WWW-Authenticate.
    static func error(for denial: AccessDenial) -> APIError {
        var headers: HTTPFields = [:]
        for (name, value) in denial.headers {
            switch name.lowercased() {
            case "www-authenticate": headers[.wwwAuthenticate] = value
            case "retry-after": headers[.retryAfter] = value
            default: break
            }
        }
        return APIError(HTTPResponse.Status(code: denial.status), denial.message, headers: headers)
    }

    /// SHA-256 (hex) of the client certificate's DER bytes, when the TLS peer presented one.
    static func certificateFingerprint(_ channel: any NIOCore.Channel) async -> String? {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get(),
              let der = try? certificate.toDERBytes() else { return nil }
        return SHA256Hex.hex(SHA256.hash(data: der))
    }

    private func record(_ request: Request, _ context: Context, remote: String?, status: Int, outcome: String, reason: String?) {
        let notes = context.notes.values
        let entry = AuditEntry(
            kind: "request", channel: channel.rawValue, appliance: context.requester?.name ?? "-", remote: remote,
            method: request.method.rawValue, path: request.uri.path, status: status, outcome: outcome,
            reason: notes.reason ?? reason, cut: notes.cut, target: notes.target, mode: notes.mode)
        do {
            try audit.append(entry)
        } catch {
            logger.error("audit log write failed", metadata: ["error": "\(error)", "request": "\(request.method) \(request.uri.path)"])
        }
    }
}
