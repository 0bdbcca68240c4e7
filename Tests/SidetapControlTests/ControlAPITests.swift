import Foundation
import NIOHTTP1
import SidetapControl
import SidetapCore
import Synchronization
import Testing

/// The API on the administration socket: every route, precise errors, audit records.
@Suite(.serialized) struct ControlAPITests {
    @Test func administratorRoutes() async throws {
        let lab = ControlLab(tag: "admin")
        try await lab.run {
            let client = lab.client
            let stats = try await client.send(.GET, "/v1/stats")
            #expect(stats.status == 200)
            #expect(try JSONDecoder().decode(EngineStatistics.self, from: stats.body) == ControlServerTests.sample)

            let ports = try await client.send(.GET, "/v1/ports")
            #expect((ports.json["ports"] as? [[String: Any]])?.first?["name"] as? String == "waf")

            let metrics = try await client.send(.GET, "/metrics")
            #expect(metrics.status == 200 && String(decoding: metrics.body, as: UTF8.self) == "sidetap_up 1\n")
            #expect(metrics.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)

            let flows = try await client.send(.GET, "/v1/flows?guest=web01&protocol=tcp&port=443")
            let list = flows.json["flows"] as? [[String: Any]] ?? []
            #expect(list.count == 1)
            let initiator = list.first?["initiator"] as? [String: Any]
            #expect(initiator?["address"] as? String == "10.0.0.5")
            #expect(initiator?["next_sequence"] as? Int == 1000)
            #expect(initiator?["mac"] as? String == "02:00:00:00:00:01")
            #expect(list.first?["guest"] as? String == "web01")
            let otherGuest = try await client.send(.GET, "/v1/flows?guest=db01")
            #expect((otherGuest.json["flows"] as? [Any])?.isEmpty == true)
            let badFilter = try await client.send(.GET, "/v1/flows?colour=red")
            #expect(badFilter.status == 400)
            #expect(badFilter.errorMessage.contains("unknown query parameter 'colour'"))

            let created = try await client.send(.POST, "/v1/cuts", json: jsonBody([
                "protocol": "tcp", "source": "10.0.1.9", "source_port": 443, "destination": "10.0.0.5", "destination_port": 43512,
                "method": "reset", "reason": "test"]))
            #expect(created.status == 201)
            #expect(created.json["state"] as? String == "active")
            #expect(created.json["mode"] as? String == "enforcing", "the administrator is never in learning mode")
            #expect((created.json["reset"] as? [String: Any])?["sequence_to_initiator"] as? Int == 5000)
            #expect(lab.resetter.resets.withLock { $0.count } == 1)
            let id = try #require(created.json["id"] as? String)

            let one = try await client.send(.GET, "/v1/cuts/\(id)")
            #expect(one.status == 200 && one.json["id"] as? String == id)
            let all = try await client.send(.GET, "/v1/cuts")
            #expect((all.json["cuts"] as? [[String: Any]])?.count == 1)
            let missing = try await client.send(.GET, "/v1/cuts/cut-nope")
            #expect(missing.status == 404 && missing.errorMessage.contains("cut-nope"))

            let unseen = try await client.send(.POST, "/v1/cuts", json: jsonBody([
                "protocol": "tcp", "source": "10.9.9.9", "source_port": 1, "destination": "10.0.0.5", "destination_port": 2, "method": "reset"]))
            #expect(unseen.status == 404 && unseen.errorMessage.contains("never seen"))

            let malformed = try await client.send(.POST, "/v1/cuts", json: Data("{\"method\": \"reset\", \"protocol\": 6".utf8))
            #expect(malformed.status == 400 && malformed.errorMessage == "the body must be a JSON object")

            let block = try await client.send(.POST, "/v1/cuts", json: jsonBody(["network": "203.0.113.0/24", "method": "block", "ttl": 60]))
            #expect(block.status == 201 && block.json["expires_at"] != nil)
            let blockID = try #require(block.json["id"] as? String)
            let cancelled = try await client.send(.DELETE, "/v1/cuts/\(blockID)")
            #expect(cancelled.status == 200 && cancelled.json["state"] as? String == "cancelled")

            let reload = try await client.send(.POST, "/v1/reload")
            #expect(reload.status == 503 && reload.errorMessage.contains("without a config file"))

            let mode = try await client.send(.PUT, "/v1/appliances/nobody/mode", json: jsonBody(["mode": "enforcing"]))
            #expect(mode.status == 404)
            let badMode = try await client.send(.PUT, "/v1/appliances/nobody/mode", json: jsonBody(["mode": "loud"]))
            #expect(badMode.status == 400 && badMode.errorMessage.contains("'mode' must be learning or enforcing"))
        }
        // Every request has an audit record with its status; refusals carry the reason.
        let requests = lab.audit.all.filter { $0.kind == "request" }
        #expect(requests.count == 17)
        #expect(requests.allSatisfy { $0.channel == "unix" && $0.appliance == "admin" })
        let refused = requests.first { $0.status == 400 && $0.path == "/v1/cuts" }
        #expect(refused?.outcome == "invalid")
        #expect(refused?.reason == "the body must be a JSON object")
        let cut = requests.first { $0.status == 201 }
        #expect(cut?.cut?.hasPrefix("cut-") == true)
        #expect(cut?.target == "tcp 10.0.1.9:443 -> 10.0.0.5:43512")
        #expect(lab.audit.all.contains { $0.kind == "cut" && $0.outcome == "cancelled" })
    }

    @Test func theEventStreamCarriesCuts() async throws {
        let lab = ControlLab(tag: "events")
        try await lab.run {
            let received = Mutex<String>("")
            let watcher = Task {
                _ = try await lab.client.stream("/v1/events") { chunk in
                    received.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
                }
            }
            var waited = 0
            while lab.events.watcherCount == 0 && waited < 200 {
                try await Task.sleep(for: .milliseconds(20))
                waited += 1
            }
            #expect(lab.events.watcherCount == 1)
            let block = try await lab.client.send(.POST, "/v1/cuts", json: jsonBody(["network": "198.51.100.7", "method": "block", "ttl": 60]))
            #expect(block.status == 201)
            waited = 0
            while !received.withLock({ $0.contains("\"event\":\"active\"") }) && waited < 200 {
                try await Task.sleep(for: .milliseconds(20))
                waited += 1
            }
            let text = received.withLock { $0 }
            #expect(text.contains("event: cut\ndata: {"))
            #expect(text.contains("blocked network 198.51.100.7/32 for 60 s"))
            watcher.cancel()
        }
    }
}
