import Foundation
import SidetapCore
@testable import SidetapCut
import Testing

/// Validation and the nftables text a target becomes; none of these need root or nft.
@Suite struct BlockElementsTests {
    static let a = IPAddress("10.77.42.1")!, b = IPAddress("10.77.42.2")!

    @Test func prefixLengthsOutsideTheFamilyRangeAreErrors() throws {
        let blocker = try NftablesBlocker()
        for (address, length) in [("10.77.42.2", 33), ("10.77.42.2", -1), ("fd77:42::2", 129), ("fd77:42::2", -5)] {
            let target = BlockTarget.network(IPAddress(address)!, prefixLength: length)
            #expect(throws: CutError.self) { try blocker.block(target, ttlSeconds: 5) }
            do {
                try blocker.unblock(target)
                Issue.record("unblock of \(target) did not throw")
            } catch let error as CutError {
                #expect(error.description.contains("prefix length \(length)"), "\(error)")
            }
        }
    }

    @Test func ttlMustBePositiveAndAtMostAYear() throws {
        let blocker = try NftablesBlocker()
        for ttl in [0, -3, BlockElements.maximumTTL + 1] {
            #expect(throws: CutError.self) { try blocker.block(.network(Self.b, prefixLength: 32), ttlSeconds: ttl) }
        }
    }

    @Test func missingNamespaceIsAClearError() throws {
        let blocker = try NftablesBlocker(namespace: "stpriv-no-such-namespace")
        do {
            try blocker.block(.network(Self.b, prefixLength: 32), ttlSeconds: 5)
            Issue.record("block in a missing namespace did not throw")
        } catch let error as CutError {
            #expect(error.description.contains("stpriv-no-such-namespace does not exist"), "\(error)")
        }
    }

    @Test func badTableAndNamespaceNamesAreRejected() {
        for name in ["", "1abc", "a b", "x;flush ruleset", String(repeating: "a", count: 33), "tä"] {
            #expect(throws: CutError.self) { _ = try NftablesBlocker(tableName: name) }
        }
        for name in ["", "..", "a/b", "ns name", "x;y"] {
            #expect(throws: CutError.self) { _ = try NftablesBlocker(namespace: name) }
        }
        #expect((try? NftablesBlocker(tableName: "sidetap_2", namespace: "st1-host")) != nil)
    }

    @Test func nonIPAndMixedFamilyFlowsAreErrors() {
        let mixed = FlowKey(lowerAddress: Self.a, upperAddress: IPAddress("fd77:42::2")!, lowerPort: 1, upperPort: 2, ipProtocol: 6, vlan: 0xFFFF)
        let nonIP = FlowKey(lowerAddress: Self.a, upperAddress: Self.b, lowerPort: 0x800, upperPort: 0x800, ipProtocol: 0, vlan: 0xFFFF)
        let icmpWithPorts = FlowKey(lowerAddress: Self.a, upperAddress: Self.b, lowerPort: 3, upperPort: 4, ipProtocol: 1, vlan: 0xFFFF)
        for key in [mixed, nonIP, icmpWithPorts] {
            #expect(throws: CutError.self) { _ = try BlockElements(.flow(key)) }
        }
    }

    @Test func flowsBecomeBothDirectionsAndNetworksLoseHostBits() throws {
        let tcp = FlowKey(lowerAddress: Self.a, upperAddress: Self.b, lowerPort: 41001, upperPort: 5000, ipProtocol: 6, vlan: 7)
        #expect(try BlockElements(.flow(tcp)).elements == [
            .init(set: "flow4", key: "10.77.42.1 . 6 . 41001 . 10.77.42.2 . 5000"),
            .init(set: "flow4", key: "10.77.42.2 . 6 . 5000 . 10.77.42.1 . 41001"),
        ])
        let icmp6 = FlowKey(lowerAddress: IPAddress("fd77:42::1")!, upperAddress: IPAddress("fd77:42::2")!, lowerPort: 0, upperPort: 0, ipProtocol: 58, vlan: 0xFFFF)
        #expect(try BlockElements(.flow(icmp6)).elements == [
            .init(set: "pair6", key: "fd77:42::1 . 58 . fd77:42::2"),
            .init(set: "pair6", key: "fd77:42::2 . 58 . fd77:42::1"),
        ])
        #expect(try BlockElements(.network(IPAddress("10.77.42.200")!, prefixLength: 24)).elements == [.init(set: "net4", key: "10.77.42.0/24")])
        #expect(try BlockElements(.network(IPAddress("fd77:42::1:2")!, prefixLength: 64)).elements == [.init(set: "net6", key: "fd77:42::/64")])
        #expect(try BlockElements(.network(IPAddress("fd77:42::1:2")!, prefixLength: 127)).elements == [.init(set: "net6", key: "fd77:42::1:2/127")])
        #expect(try BlockElements(.network(IPAddress("10.1.2.3")!, prefixLength: 0)).elements == [.init(set: "net4", key: "0.0.0.0/0")])
    }

    @Test func rulesetTouchesOnlySidetapsTables() {
        let ruleset = NftablesRuleset(tableName: "sidetap")
        let text = ruleset.install() + ruleset.deleteTables()
            + ruleset.add(try! BlockElements(.network(Self.b, prefixLength: 32)), ttlSeconds: 3)
        for line in text.split(separator: "\n") {
            #expect(line.contains("inet sidetap") || line.contains("bridge sidetap"), "\(line)")
            #expect(!line.contains("ruleset"))
        }
        #expect(text.contains("add element bridge sidetap net4 { 10.77.42.2/32 timeout 3s }"))
        #expect(text.contains("add chain bridge sidetap forward { type filter hook forward priority -200; policy accept; }"))
    }

    @Test func listingsFoldBothDirectionsIntoOneFlow() throws {
        let json = """
        {"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "sidetap"}},
         {"set": {"family": "inet", "name": "flow4", "table": "sidetap", "elem": [
           {"elem": {"val": {"concat": ["10.77.42.2", 6, 5000, "10.77.42.1", 41001]}, "timeout": 30, "expires": 28}},
           {"elem": {"val": {"concat": ["10.77.42.1", "tcp", 41001, "10.77.42.2", 5000]}, "timeout": 30, "expires": 29}}]}},
         {"set": {"family": "inet", "name": "pair4", "table": "sidetap", "elem": [
           {"elem": {"val": {"concat": ["10.77.42.1", "icmp", "10.77.42.2"]}, "timeout": 30, "expires": 9}}]}},
         {"set": {"family": "inet", "name": "net6", "table": "sidetap", "elem": [
           {"elem": {"val": {"prefix": {"addr": "fd77:42::", "len": 64}}, "timeout": 30, "expires": 3}},
           {"elem": {"val": "fd77:43::2", "timeout": 30, "expires": 4}}, "fd77:44::1"]}}]}
        """
        let entries = try NftablesListing.parse(Data(json.utf8))
        let byTarget = Dictionary(uniqueKeysWithValues: entries.map { ($0.target, $0.secondsLeft) })
        let tcp = FlowKey(lowerAddress: Self.a, upperAddress: Self.b, lowerPort: 41001, upperPort: 5000, ipProtocol: 6, vlan: 0xFFFF)
        let icmp = FlowKey(lowerAddress: Self.a, upperAddress: Self.b, lowerPort: 0, upperPort: 0, ipProtocol: 1, vlan: 0xFFFF)
        #expect(byTarget == [
            .flow(tcp): 29, .flow(icmp): 9,
            .network(IPAddress("fd77:42::")!, prefixLength: 64): 3,
            .network(IPAddress("fd77:43::2")!, prefixLength: 128): 4,
        ])
        #expect(throws: CutError.self) { _ = try NftablesListing.parse(Data("not json".utf8)) }
    }

    @Test func normalizedTargetsMatchListings() throws {
        let reversed = FlowKey(lowerAddress: Self.b, upperAddress: Self.a, lowerPort: 5000, upperPort: 41001, ipProtocol: 6, vlan: 12)
        #expect(try NftablesBlocker.normalized(.flow(reversed))
            == .flow(FlowKey(lowerAddress: Self.a, upperAddress: Self.b, lowerPort: 41001, upperPort: 5000, ipProtocol: 6, vlan: 0xFFFF)))
        #expect(try NftablesBlocker.normalized(.network(IPAddress("10.77.42.9")!, prefixLength: 24))
            == .network(IPAddress("10.77.42.0")!, prefixLength: 24))
    }
}
