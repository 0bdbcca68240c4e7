import ArgumentParser
import Foundation
import NIOHTTP1
import SidetapControl
import SidetapDaemon

/// How `sidetap ctl` reaches Sidetap: the local socket (administration) by default, or an
/// appliance endpoint over HTTPS with a token.
struct CtlConnection: ParsableArguments {
    @Option(help: "Control socket of the local Sidetap (default: /run/sidetap/control.sock as root).")
    var socket: String?

    @Option(help: "Appliance endpoint instead of the local socket: https://HOST:PORT.")
    var url: String?

    @Option(help: "File holding the bearer token (default: $SIDETAP_TOKEN).")
    var tokenFile: String?

    @Option(help: "PEM CA bundle that signed the server certificate.")
    var ca: String?

    @Option(help: "PEM client certificate for mutual TLS.")
    var cert: String?

    @Option(help: "PEM private key of --cert.")
    var key: String?

    @Option(help: "Name the server certificate must carry (default: the URL's host).")
    var serverName: String?

    @Flag(help: "Print the server's JSON answer as it is.")
    var json = false

    func validate() throws {
        if url != nil && socket != nil { throw ValidationError("give --socket or --url, not both") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if url == nil && (tokenFile != nil || ca != nil || cert != nil) {
            throw ValidationError("--token-file, --ca, --cert and --key apply to --url (the local socket needs none)")
        }
    }

    func client() throws -> ControlHTTPClient {
        guard let url else { return ControlHTTPClient(endpoint: .unix(path: socket ?? ControlSocket.defaultPath())) }
        var token = ProcessInfo.processInfo.environment["SIDETAP_TOKEN"]
        if let tokenFile {
            do {
                token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw ValidationError("--token-file \(tokenFile): \(error.localizedDescription)")
            }
        }
        let credentials = ControlEndpoint.Credentials(token: token, serverCAPath: ca, certificatePath: cert, keyPath: key, serverName: serverName)
        switch ControlEndpoint.parseURL(url, credentials: credentials) {
        case .success(let endpoint): return ControlHTTPClient(endpoint: endpoint)
        case .failure(let problem): throw ValidationError(problem.description)
        }
    }

    /// Sends a request; prints the error body and exits 1 on a non-2xx answer; returns the body.
    func call(_ method: HTTPMethod, _ target: String, body: Data? = nil) async throws -> Data {
        let client = try client()
        let reply: ControlHTTPClient.Reply
        do {
            reply = try await client.send(method, target, json: body)
        } catch {
            StandardError.write("sidetap ctl: \(error)\n")
            throw ExitCode(1)
        }
        guard (200..<300).contains(reply.status) else {
            let message = (try? JSONDecoder().decode(APIErrorBody.self, from: reply.body))?.error.message
                ?? String(decoding: reply.body, as: UTF8.self)
            StandardError.write("sidetap ctl: HTTP \(reply.status): \(message)\n")
            throw ExitCode(reply.status == 401 || reply.status == 403 ? 3 : 1)
        }
        return reply.body
    }

    /// Prints `body` as JSON (--json) or through `render`.
    func show(_ body: Data, render: (Any) -> String) {
        if json {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: body) else {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        print(render(object), terminator: "")
    }
}
