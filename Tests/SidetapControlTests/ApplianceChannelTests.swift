import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import SidetapControl
import SidetapCore
import SidetapEvidence
import SidetapTestKit
import Synchronization
import Testing

/// The appliance channel over real TLS: bearer tokens, a client-certificate-bound appliance,
/// scope, rate limits, runtime mode switching, a burst of 1,000 requests, and every refusal
/// audited and matching the OpenAPI document.
@Suite(.serialized) struct ApplianceChannelTests {
    /// A CA, a server certificate for 127.0.0.1, the bound appliance's client certificate and
    /// another one signed by the same CA.
    static func makeCertificates() throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "stc-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        return try TestCertificates(in: directory, clients: [("client", "/CN=ids01"), ("other", "/CN=intruder")])
    }

    /// SHA-256 of a certificate's DER encoding, as the config names it.
    static func fingerprint(_ certificates: TestCertificates, _ name: String) throws -> String {
        SHA256Hex.hex(SHA256.hash(data: try certificates.der(certificates.certificate(name))))
    }

    static func freePort() -> Int { Int.random(in: 20_000...40_000) }

    @Test(.timeLimit(.minutes(3))) func appliancesAreAuthenticatedScopedLimitedAndAudited() async throws {
        let certificates = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let idsToken = TokenDigest.newToken(), readerToken = TokenDigest.newToken(), boundToken = TokenDigest.newToken()
        let burstToken = TokenDigest.newToken()
        let scope = AccessScope(networks: [try CIDR(parsing: "10.0.0.0/16")])
        let access = try AccessPolicy(appliances: [
            ApplianceAccess(name: "ids", tokenDigest: TokenDigest(token: idsToken), actions: [.cut, .block, .readFlows, .readStats],
                            scope: scope, mode: .learning, rateLimit: try RateLimit(requestsPerSecond: 1, burst: 12)),
            ApplianceAccess(name: "reader", tokenDigest: TokenDigest(token: readerToken), actions: [.readStats], scope: AccessScope()),
            ApplianceAccess(name: "bound", tokenDigest: TokenDigest(token: boundToken),
                            certificateSHA256: try Self.fingerprint(certificates, "client"),
                            actions: [.readStats], scope: AccessScope()),
            ApplianceAccess(name: "burst", tokenDigest: TokenDigest(token: burstToken), actions: [.readStats, .readFlows],
                            scope: scope, rateLimit: try RateLimit(requestsPerSecond: 5000, burst: 2000)),
        ])
        let lab = ControlLab(tag: "tls", access: access)
        let port = Self.freePort()
        let tls = TLSListenerSettings(host: "127.0.0.1", port: port, certificatePath: certificates.serverCertificate,
                                      keyPath: certificates.serverKey, clientCAPath: certificates.ca)
        let checker = try OpenAPIChecker()
        func client(_ token: String?, certificate: (String, String)? = nil) -> ControlHTTPClient {
            ControlHTTPClient(endpoint: .https(host: "127.0.0.1", port: port, credentials: .init(
                token: token, serverCAPath: certificates.ca, certificatePath: certificate?.0, keyPath: certificate?.1)), timeout: .seconds(30))
        }
        func call(_ c: ControlHTTPClient, _ method: HTTPMethod, _ target: String, json: Data? = nil, expect status: Int) async throws -> ControlHTTPClient.Reply {
            let reply = try await c.send(method, target, json: json)
            #expect(reply.status == status, "\(method) \(target): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
            let problems = checker.check(method: "\(method)", target: target, status: reply.status, contentType: reply.header("content-type"), body: reply.body)
            #expect(problems.isEmpty, "\(problems)")
            return reply
        }

        try await lab.run(tls: tls) {
            // Tokens: missing, wrong, right.
            let missing = try await call(client(nil), .GET, "/v1/stats", expect: 401)
            #expect(missing.header("www-authenticate")?.hasPrefix("Bearer") == true)
            let wrong = try await call(client("stp_wrong"), .GET, "/v1/stats", expect: 401)
            #expect(wrong.errorMessage == "invalid credentials")
            _ = try await call(client(idsToken), .GET, "/v1/stats", expect: 200)

            // Actions and scope: 403.
            let notAllowed = try await call(client(readerToken), .GET, "/v1/flows", expect: 403)
            #expect(notAllowed.errorMessage.contains("read_flows"))
            let outOfScope = try await call(client(idsToken), .POST, "/v1/cuts", json: jsonBody([
                "protocol": "tcp", "source": "192.0.2.1", "source_port": 1, "destination": "192.0.2.2", "destination_port": 2, "method": "block"]),
                expect: 403)
            #expect(outOfScope.errorMessage.contains("outside"))
            _ = try await call(client(idsToken), .POST, "/v1/cuts", json: jsonBody(["method": "block", "network": "10.0.0.0/8"]), expect: 403)
            _ = try await call(client(idsToken), .GET, "/v1/appliances", expect: 403)
            _ = try await call(client(idsToken), .POST, "/v1/cuts", json: Data("not json".utf8), expect: 400)

            // Learning mode: recorded, not executed; the administrator switches it to enforcing.
            let learned = try await call(client(idsToken), .POST, "/v1/cuts", json: jsonBody([
                "protocol": "tcp", "source": "10.0.0.5", "source_port": 43512, "destination": "10.0.1.9", "destination_port": 443,
                "method": "reset"]), expect: 201)
            #expect(learned.json["state"] as? String == "learned")
            #expect(lab.resetter.resets.withLock { $0.isEmpty })
            let switched = try await lab.client.send(.PUT, "/v1/appliances/ids/mode", json: jsonBody(["mode": "enforcing"]))
            #expect(switched.status == 200 && switched.json["mode"] as? String == "enforcing")
            let enforced = try await call(client(idsToken), .POST, "/v1/cuts", json: jsonBody([
                "protocol": "tcp", "source": "10.0.0.5", "source_port": 43512, "destination": "10.0.1.9", "destination_port": 443,
                "method": "reset"]), expect: 201)
            #expect(enforced.json["state"] as? String == "active")
            #expect(lab.resetter.resets.withLock { $0.count } == 1)
            // Another appliance cannot see or cancel it.
            let id = try #require(enforced.json["id"] as? String)
            _ = try await call(client(burstToken), .GET, "/v1/cuts/\(id)", expect: 404)

            // Rate limit: the ids appliance has a burst of 12 at 1/s; it has used 10.
            var limited: ControlHTTPClient.Reply?
            for _ in 0..<40 {
                let reply = try await client(idsToken).send(.GET, "/v1/stats")
                if reply.status == 429 { limited = reply; break }
            }
            let tooMany = try #require(limited, "no 429 after the burst")
            #expect(Int(tooMany.header("retry-after") ?? "") ?? 0 >= 1)
            #expect(checker.check(method: "GET", target: "/v1/stats", status: 429, contentType: tooMany.header("content-type"), body: tooMany.body).isEmpty)

            // Client certificates: the bound appliance needs exactly its certificate.
            _ = try await call(client(boundToken), .GET, "/v1/stats", expect: 401)
            _ = try await call(client(boundToken, certificate: (certificates.certificate("other"), certificates.key("other"))), .GET, "/v1/stats", expect: 401)
            _ = try await call(client(boundToken, certificate: (certificates.certificate("client"), certificates.key("client"))), .GET, "/v1/stats", expect: 200)

            // 1,000 requests from one appliance, ten at a time: every one answered, and no
            // connection left open on either side afterwards (counted from /proc/self/net/tcp for
            // this listener's port only, so suites running beside this one cannot disturb it;
            // connections still closing get a few seconds).
            let burst = client(burstToken)
            func round(_ rounds: Int) async throws -> Int {
                var failures = 0
                for round in 0..<rounds {
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for index in 0..<10 {
                            group.addTask {
                                let target = (round + index) % 2 == 0 ? "/v1/stats" : "/v1/flows?limit=10"
                                return try await burst.send(.GET, target).status
                            }
                        }
                        for try await status in group where status != 200 { failures += 1 }
                    }
                }
                return failures
            }
            #expect(try await round(10) == 0)
            try await Task.sleep(for: .milliseconds(500))
            let failures = try await round(100)
            #expect(failures == 0, "\(failures) of 1000 requests failed")
            var open = Self.openConnections(port: port)
            for _ in 0..<60 where open > 0 {
                try await Task.sleep(for: .milliseconds(100))
                open = Self.openConnections(port: port)
            }
            #expect(open == 0, "\(open) connections to port \(port) still open after 1000 requests")
        }
        // Every request was audited, refusals with their reason.
        let requests = lab.audit.all.filter { $0.kind == "request" && $0.channel == "tls" }
        #expect(requests.count >= 1100 + 15)
        #expect(requests.contains { $0.status == 401 && $0.appliance == "-" })
        #expect(requests.contains { $0.status == 401 && $0.reason?.contains("certificate") == true })
        #expect(requests.contains { $0.status == 403 && $0.appliance == "reader" })
        #expect(requests.contains { $0.status == 429 && $0.outcome == "limited" })
        #expect(requests.contains { $0.status == 400 && $0.outcome == "invalid" })
        #expect(requests.filter { $0.appliance == "burst" && $0.status == 200 }.count == 1100)
        #expect(lab.audit.all.contains { $0.kind == "cut" && $0.mode == "learning" })
        #expect(checker.problems.isEmpty)
    }

    /// TCP connections (either end) on `port` that still hold a socket open: established or
    /// half-closed, i.e. everything but LISTEN, TIME_WAIT and CLOSE (which keep no descriptor).
    static func openConnections(port: Int) -> Int {
        guard let table = try? String(contentsOfFile: "/proc/self/net/tcp", encoding: .utf8) else { return -1 }
        let hexPort = String(format: "%04X", port)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            guard fields.count > 3 else { return false }
            let state = fields[3]
            let ends = [fields[1], fields[2]]
            return !["0A", "06", "07"].contains(state) && ends.contains { $0.hasSuffix(":" + hexPort) }
        }.count
    }
}
