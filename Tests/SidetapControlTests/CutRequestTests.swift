import Foundation
import SidetapControl
import SidetapCore
import Testing

@Suite struct CutRequestTests {
    func parse(_ object: [String: Any]) -> Result<CutRequest, ParseProblem> {
        CutRequest.parse(jsonBody(object), defaultTTL: 300, maximumTTL: 3600)
    }

    func problem(_ object: [String: Any]) -> String {
        if case .failure(let problem) = parse(object) { return problem.description }
        Issue.record("accepted: \(object)")
        return ""
    }

    @Test func aConnectionReset() throws {
        let request = try parse(["protocol": "tcp", "source": "10.0.0.5", "source_port": 43512, "destination": "10.0.1.9",
                                 "destination_port": 443, "method": "reset", "reason": "beacon"]).get()
        #expect(request.method == .reset)
        #expect(request.ttlSeconds == 300)
        #expect(request.reason == "beacon")
        guard case .flow(let tuple) = request.target else { Issue.record("not a flow"); return }
        #expect(tuple == FlowSamples.webTuple)
        // Both directions name one flow.
        let reversed = FlowTuple(ipProtocol: 6, source: tuple.destination, sourcePort: 443, destination: tuple.source, destinationPort: 43512)
        #expect(reversed.key == tuple.key)
        #expect(tuple.matches(FlowSamples.web().key))
    }

    @Test func aNetworkBlockAndAnIPv6IcmpBlock() throws {
        let network = try parse(["network": "203.0.113.0/24", "method": "block", "ttl": 600]).get()
        #expect(network.target == .network(CIDR(address: IPAddress("203.0.113.0")!, prefixLength: 24)))
        #expect(network.ttlSeconds == 600)
        let icmp = try parse(["protocol": "icmp6", "source": "fd00::1", "destination": "fd00::2", "method": "block"]).get()
        guard case .flow(let tuple) = icmp.target else { Issue.record("not a flow"); return }
        #expect(tuple.ipProtocol == 58 && tuple.sourcePort == 0)
        guard case .flow(let key) = icmp.target.blockTarget else { Issue.record("not a flow block"); return }
        #expect(key.lowerPort == 0 && key.upperPort == 0)
    }

    @Test func everyMistakeIsNamed() {
        let base: [String: Any] = ["protocol": "tcp", "source": "10.0.0.5", "source_port": 1, "destination": "10.0.1.9", "destination_port": 2]
        func with(_ changes: [String: Any], removing: [String] = []) -> [String: Any] {
            var object = base.merging(changes) { $1 }
            for key in removing { object.removeValue(forKey: key) }
            return object
        }
        #expect(problem(base).contains("'method' is required"))
        #expect(problem(with(["method": "nuke"])).contains("'method' must be reset, block or both, got 'nuke'"))
        #expect(problem(with(["method": "reset", "colour": "red"])).contains("unknown field 'colour'"))
        #expect(problem(with(["method": "reset", "source_port": 70000])).contains("'source_port' must be between 1 and 65535, got 70000"))
        #expect(problem(with(["method": "reset"], removing: ["destination_port"])).contains("'destination_port' is required"))
        #expect(problem(with(["method": "reset", "source": "10.0.0.300"])).contains("'source' must be an IPv4 or IPv6 address, got '10.0.0.300'"))
        #expect(problem(with(["method": "reset", "destination": "fd00::1"])).contains("both be IPv4 or both IPv6"))
        #expect(problem(with(["method": "reset", "ttl": 0])).contains("'ttl' must be between 1 and 3600"))
        #expect(problem(with(["method": "reset", "ttl": true])).contains("'ttl' must be a whole number"))
        #expect(problem(with(["method": "reset", "ttl": 1.5])).contains("'ttl' must be a whole number"))
        #expect(problem(with(["method": "reset", "protocol": "udp"])).contains("a udp flow cannot be reset (only TCP can); use method block"))
        #expect(problem(with(["method": "reset", "protocol": "gopher"])).contains("'protocol' must be tcp"))
        #expect(problem(["protocol": "icmp", "source": "10.0.0.1", "destination": "10.0.0.2", "source_port": 3, "method": "block"])
            .contains("'source_port' does not apply to protocol icmp"))
        #expect(problem(["network": "10.0.0.1/24", "method": "block"]).contains("has host bits set (did you mean 10.0.0.0/24?)"))
        #expect(problem(["network": "10.0.0.0/33", "method": "block"]).contains("prefix length outside 0–32"))
        #expect(problem(["network": "10.0.0.0/24", "method": "reset"]).contains("a network can only be blocked"))
        #expect(problem(["network": "10.0.0.0/24", "source": "10.0.0.1", "method": "block"]).contains("not both"))
        #expect(problem(["method": "block"]).contains("give 'protocol', 'source' and 'destination'"))
        if case .failure(let p) = CutRequest.parse(Data("[1,2]".utf8), defaultTTL: 1, maximumTTL: 2) {
            #expect(p.description == "the body must be a JSON object")
        } else {
            Issue.record("a JSON array was accepted")
        }
        if case .success = CutRequest.parse(Data("{\"method\":".utf8), defaultTTL: 1, maximumTTL: 2) { Issue.record("broken JSON accepted") }
    }

    @Test func networkPrefixes() throws {
        let v6 = try CIDR.parse("fd00:1::/64").get()
        #expect(v6.contains(IPAddress("fd00:1::42")!))
        #expect(!v6.contains(IPAddress("fd00:2::42")!))
        #expect(!v6.contains(IPAddress("10.0.0.1")!))
        let host = try CIDR.parse("10.1.2.3").get()
        #expect(host.prefixLength == 32 && host.description == "10.1.2.3/32")
        #expect(try CIDR.parse("0.0.0.0/0").get().contains(IPAddress("192.0.2.1")!))
    }
}
