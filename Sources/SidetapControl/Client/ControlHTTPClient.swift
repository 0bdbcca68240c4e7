import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The HTTP/1.1 client of `sidetap ctl`: one request per connection over the Unix socket or
/// HTTPS (with bearer token and optional client certificate); a whole response, or a
/// streamed body line by line for the event stream.
public struct ControlHTTPClient: Sendable {
    public let endpoint: ControlEndpoint
    public let timeout: TimeAmount

    public init(endpoint: ControlEndpoint, timeout: TimeAmount = .seconds(10)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    /// A complete answer.
    public struct Reply: Sendable {
        public var status: Int
        public var body: Data
        public var headers: [(String, String)]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// Why no answer arrived.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Sends one request and collects the whole response.
    public func send(_ method: HTTPMethod, _ target: String, json body: Data? = nil) async throws(Failure) -> Reply {
        let collector = ResponseCollector(onChunk: nil)
        return try await exchange(method, target, body: body, collector: collector, deadline: .now() + timeout)
    }

    /// Sends a GET and calls `onChunk` with each part of the body as it arrives, until the
    /// server ends the response or the connection closes. Returns the status.
    public func stream(_ target: String, onChunk: @escaping @Sendable (Data) -> Void) async throws(Failure) -> Reply {
        let collector = ResponseCollector(onChunk: onChunk)
        return try await exchange(.GET, target, body: nil, collector: collector, deadline: nil)
    }

    private func exchange(_ method: HTTPMethod, _ target: String, body: Data?, collector: ResponseCollector, deadline: NIODeadline?) async throws(Failure) -> Reply {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.any().makePromise(of: Reply.self)
        collector.promise = promise
        var sslContext: NIOSSLContext?
        var hostName = "sidetap"
        var bearer: String?
        if case .https(let host, _, let credentials) = endpoint {
            hostName = credentials.serverName ?? host
            bearer = credentials.token
            do {
                sslContext = try Self.makeContext(credentials)
            } catch {
                let failure = Failure(description: "TLS setup: \(error)")
                promise.fail(failure)
                throw failure
            }
        }
        let serverName = hostName
        let isAddress = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : serverName)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
        let channel: any Channel
        do {
            switch endpoint {
            case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            case .https(let host, let port, _): channel = try await bootstrap.connect(host: host, port: port).get()
            }
        } catch {
            let hint = if case .unix = endpoint { " (is Sidetap running with this control socket?)" } else { "" }
            let failure = Failure(description: "\(endpoint): cannot connect: \(error)\(hint)")
            promise.fail(failure)
            throw failure
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
        head.headers.add(name: "Host", value: serverName.contains(":") ? "[\(serverName)]" : serverName)
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "Connection", value: "close")
        if let bearer { head.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.count)")
        } else if method == .POST || method == .PUT {
            head.headers.add(name: "Content-Length", value: "0")
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        if let deadline {
            let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                promise.fail(Failure(description: "\(endpoint): no answer within the timeout"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        do {
            let reply = try await promise.futureResult.get()
            try? await channel.close().get()
            return reply
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(endpoint): \(error)")
        }
    }

    static func makeContext(_ credentials: ControlEndpoint.Credentials) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let ca = credentials.serverCAPath {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        if let certificate = credentials.certificatePath, let key = credentials.keyPath {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// Collects one HTTP response on the channel's event loop.
final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    var promise: EventLoopPromise<ControlHTTPClient.Reply>?
    let onChunk: (@Sendable (Data) -> Void)?
    private var status = 0
    private var headers: [(String, String)] = []
    private var body = Data()

    init(onChunk: (@Sendable (Data) -> Void)?) {
        self.onChunk = onChunk
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            headers = head.headers.map { ($0.name, $0.value) }
        case .body(let buffer):
            let chunk = Data(buffer.readableBytesView)
            if let onChunk, status == 200 { onChunk(chunk) } else { body.append(chunk) }
        case .end:
            promise?.succeed(.init(status: status, body: body, headers: headers))
            promise = nil
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(ControlHTTPClient.Failure(description: "\(error)"))
        promise = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if status != 0 {
            promise?.succeed(.init(status: status, body: body, headers: headers))
        } else {
            promise?.fail(ControlHTTPClient.Failure(description: "the server closed the connection without an answer"))
        }
        promise = nil
    }
}
