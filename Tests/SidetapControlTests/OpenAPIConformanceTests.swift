import Foundation
import NIOHTTP1
import SidetapControl
import SidetapCore
import Testing

/// Every operation in docs/control-api.openapi.yaml is called on a running server, and every
/// answer (successes and errors) must match the document.
@Suite(.serialized) struct OpenAPIConformanceTests {
    /// Sends a request and checks the answer against the document.
    func exchange(_ checker: OpenAPIChecker, _ client: ControlHTTPClient, _ method: HTTPMethod, _ target: String,
                  json: Data? = nil, expect status: Int) async throws -> ControlHTTPClient.Reply {
        let reply = try await client.send(method, target, json: json)
        #expect(reply.status == status, "\(method) \(target): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        let problems = checker.check(method: "\(method)", target: target, status: reply.status, contentType: reply.header("content-type"), body: reply.body)
        #expect(problems.isEmpty, "\(problems)")
        return reply
    }

    @Test func theAdministratorSideMatchesTheDocument() async throws {
        let checker = try OpenAPIChecker()
        let lab = ControlLab(tag: "openapi") {
            ReloadOutcome(applied: false, message: "the new config is invalid", errors: ["sidetap.yaml:3:5: unknown key 'prots'"])
        }
        try await lab.run {
            let c = lab.client
            _ = try await exchange(checker, c, .GET, "/v1/health", expect: 200)
            _ = try await exchange(checker, c, .GET, "/v1/stats", expect: 200)
            _ = try await exchange(checker, c, .GET, "/v1/ports", expect: 200)
            _ = try await exchange(checker, c, .GET, "/metrics", expect: 200)
            _ = try await exchange(checker, c, .GET, "/v1/flows?protocol=tcp&limit=5", expect: 200)
            _ = try await exchange(checker, c, .GET, "/v1/flows?limit=0", expect: 400)
            let cut = try await exchange(checker, c, .POST, "/v1/cuts", json: jsonBody([
                "protocol": "tcp", "source": "10.0.0.5", "source_port": 43512, "destination": "10.0.1.9", "destination_port": 443,
                "method": "both", "ttl": 120, "reason": "openapi"]), expect: 201)
            let id = try #require(cut.json["id"] as? String)
            _ = try await exchange(checker, c, .POST, "/v1/cuts", json: jsonBody(["method": "reset"]), expect: 400)
            _ = try await exchange(checker, c, .POST, "/v1/cuts", json: jsonBody([
                "protocol": "tcp", "source": "10.7.7.7", "source_port": 1, "destination": "10.0.1.9", "destination_port": 2, "method": "reset"]), expect: 404)
            _ = try await exchange(checker, c, .GET, "/v1/cuts", expect: 200)
            _ = try await exchange(checker, c, .GET, "/v1/cuts/\(id)", expect: 200)
            _ = try await exchange(checker, c, .GET, "/v1/cuts/none", expect: 404)
            _ = try await exchange(checker, c, .DELETE, "/v1/cuts/\(id)", expect: 200)
            _ = try await exchange(checker, c, .DELETE, "/v1/cuts/none", expect: 404)
            _ = try await exchange(checker, c, .POST, "/v1/reload", expect: 422)
            _ = try await exchange(checker, c, .GET, "/v1/appliances", expect: 200)
            _ = try await exchange(checker, c, .PUT, "/v1/appliances/none/mode", json: jsonBody(["mode": "enforcing"]), expect: 404)
            _ = try await exchange(checker, c, .PUT, "/v1/appliances/none/mode", json: jsonBody(["mode": 3]), expect: 400)
        }
        let missing = checker.operations.subtracting(checker.exercised).subtracting(["GET /v1/events"])
        #expect(missing.isEmpty, "operations never called: \(missing.sorted())")
        #expect(checker.problems.isEmpty)
    }
}
