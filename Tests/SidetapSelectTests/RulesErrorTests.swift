import SidetapCore
import SidetapSelect
import Testing

/// Every kind of bad rule gives its precise error: file, line, column and reason.
@Suite struct RulesErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var text: String
        var kind: RulesError.Kind
        var line: Int
        var column: Int?
        /// The whole `description`, or its start when it ends with "…".
        var message: String
        var testDescription: String { "\(kind): \(text)" }
    }

    static let cases: [Case] = [
        Case(text: "acept tcp", kind: .unknownAction, line: 1, column: 1,
             message: "filters/waf.rules:1:1: unknown action 'acept' (expected accept or reject)"),
        Case(text: "# web\n\naccept tcp dprot 80", kind: .unknownMatch, line: 3, column: 12,
             message: "filters/waf.rules:3:12: unknown match 'dprot' (expected one of any, tcp, udp, icmp, icmp6, sctp, ip, ip6, proto, src, dst, host, sport, dport, port, vlan, flags, direction, source, guest, pcap, or an option: sample, slice); did you mean 'dport'?"),
        Case(text: "accept src 10.0.0.300/8", kind: .badCIDR, line: 1, column: 12,
             message: "filters/waf.rules:1:12: bad CIDR '10.0.0.300/8' (expected an IPv4 or IPv6 address, optionally /prefix)"),
        Case(text: "accept src 10.0.0.0/33", kind: .badPrefixLength, line: 1, column: 21,
             message: "filters/waf.rules:1:21: bad prefix length '33' in '10.0.0.0/33' (IPv4 allows 0–32)"),
        Case(text: "accept dst 2001:db8::/129", kind: .badPrefixLength, line: 1, column: 23,
             message: "filters/waf.rules:1:23: bad prefix length '129' in '2001:db8::/129' (IPv6 allows 0–128)"),
        Case(text: "accept dst 10.0.0.0/8,10.1.0.1/16", kind: .badCIDR, line: 1, column: 23,
             message: "filters/waf.rules:1:23: bad CIDR '10.1.0.1/16': host bits set beyond /16 (did you mean 10.1.0.0/16?)"),
        Case(text: "accept dport 70000", kind: .portOutOfRange, line: 1, column: 14,
             message: "filters/waf.rules:1:14: port 70000 out of range (0–65535)"),
        Case(text: "accept dport 80,8000-70000", kind: .portOutOfRange, line: 1, column: 22,
             message: "filters/waf.rules:1:22: port 70000 out of range (0–65535)"),
        Case(text: "accept dport 90-80", kind: .invertedRange, line: 1, column: 14,
             message: "filters/waf.rules:1:14: inverted range '90-80' (90 is above 80)"),
        Case(text: "accept sport http", kind: .badPortNumber, line: 1, column: 14,
             message: "filters/waf.rules:1:14: bad port 'http' in 'http' (expected a number 0–65535 or a range P-Q)"),
        Case(text: "accept vlan 5000", kind: .badVLAN, line: 1, column: 13,
             message: "filters/waf.rules:1:13: bad vlan '5000' (expected a VLAN ID 0–4095, a list of them, or 'none')"),
        Case(text: "accept flags syn,sin", kind: .unknownFlag, line: 1, column: 18,
             message: "filters/waf.rules:1:18: unknown flag 'sin' (expected one of fin, syn, rst, psh, ack, urg, ece, cwr, ns, each optionally prefixed by '!')"),
        Case(text: "accept flags syn,!syn", kind: .contradictoryFlags, line: 1, column: 18,
             message: "filters/waf.rules:1:18: flag 'syn' is required both set and clear"),
        Case(text: "accept tcp sample 1/0", kind: .badSample, line: 1, column: 19,
             message: "filters/waf.rules:1:19: bad sample '1/0' (expected 1/N with N from 1 to 16777216)"),
        Case(text: "accept tcp sample 2/3", kind: .badSample, line: 1, column: 19,
             message: "filters/waf.rules:1:19: bad sample '2/3' (expected 1/N with N from 1 to 16777216)"),
        Case(text: "accept slice 0", kind: .badSlice, line: 1, column: 14,
             message: "filters/waf.rules:1:14: bad slice '0' (expected a byte count from 1 to 262144)"),
        Case(text: "accept any slice lots", kind: .badSlice, line: 1, column: 18,
             message: "filters/waf.rules:1:18: bad slice 'lots' (expected a byte count from 1 to 262144)"),
        Case(text: "accept src", kind: .missingValue, line: 1, column: 11,
             message: "filters/waf.rules:1:11: missing value after 'src' (expected a CIDR list such as 10.0.0.0/8,2001:db8::/32)"),
        Case(text: "accept src dport 80", kind: .missingValue, line: 1, column: 12,
             message: "filters/waf.rules:1:12: missing value after 'src' (expected a CIDR list such as 10.0.0.0/8,2001:db8::/32, found 'dport')"),
        Case(text: "accept dport 80,", kind: .missingValue, line: 1, column: 17,
             message: "filters/waf.rules:1:17: missing value in the list after 'dport' (trailing comma)"),
        Case(text: "accept dport 80,,81", kind: .missingValue, line: 1, column: 17,
             message: "filters/waf.rules:1:17: missing value in the list after 'dport' (empty element)"),
        Case(text: "accept tcp not", kind: .missingValue, line: 1, column: 15,
             message: "filters/waf.rules:1:15: missing match after 'not'"),
        Case(text: "accept pcap tcp", kind: .missingValue, line: 1, column: 13,
             message: "filters/waf.rules:1:13: missing value after 'pcap' (expected a quoted pcap-filter expression, found 'tcp')"),
        Case(text: "accept sample", kind: .missingValue, line: 1, column: 14,
             message: "filters/waf.rules:1:14: missing value after 'sample' (expected 1/N)"),
        Case(text: "accept\n  accept pcap \"tcp port 80", kind: .unterminatedQuote, line: 2, column: 15,
             message: "filters/waf.rules:2:15: unterminated quote (a string opened here has no closing '\"')"),
        Case(text: "accept source vnet9", kind: .unknownSource, line: 1, column: 15,
             message: "filters/waf.rules:1:15: unknown source 'vnet9' (known sources: vnet0, vnet1, vnet2)"),
        Case(text: "accept guest web1,nobody", kind: .unknownGuest, line: 1, column: 19,
             message: "filters/waf.rules:1:19: unknown guest 'nobody' (known guests: web1, db1)"),
        Case(text: "accept tcp\naccept tcp\n\naccept tcp\naccept pcap \"tcp prt 80\"", kind: .badPcapExpression, line: 5, column: nil,
             message: "filters/waf.rules:5: pcap expression \"tcp prt 80\": syntax error"),
        Case(text: "accept proto 300", kind: .badProtocol, line: 1, column: 14,
             message: "filters/waf.rules:1:14: bad protocol '300' (expected a number 0–255)"),
        Case(text: "accept direction sideways", kind: .badDirection, line: 1, column: 18,
             message: "filters/waf.rules:1:18: bad direction 'sideways' (expected in or out)"),
        Case(text: "reject tcp slice 10", kind: .optionOnReject, line: 1, column: 12,
             message: "filters/waf.rules:1:12: option 'slice' applies only to accept rules"),
        Case(text: "accept slice 10 tcp slice 20", kind: .duplicateOption, line: 1, column: 21,
             message: "filters/waf.rules:1:21: duplicate option 'slice' (first given at column 8)"),
        Case(text: "accept tcp \"x\"", kind: .unexpectedText, line: 1, column: 12,
             message: "filters/waf.rules:1:12: unexpected string \"x\" (a quoted string follows only 'pcap')"),
        Case(text: "accept not slice 5", kind: .unexpectedText, line: 1, column: 12,
             message: "filters/waf.rules:1:12: 'not' must be followed by a match, not 'slice'"),
    ]

    @Test(arguments: cases)
    func badRule(_ c: Case) {
        let port = PortRules(name: "waf", rulesFile: "filters/waf.rules", text: c.text)
        do {
            _ = try CompiledRuleSet(ports: [port], sources: Harness.sources)
            Issue.record("'\(c.text)' compiled")
        } catch {
            #expect(error.kind == c.kind)
            #expect(error.file == "filters/waf.rules")
            #expect(error.line == c.line)
            #expect(error.column == c.column)
            #expect(error.description == c.message)
        }
    }

    @Test func errorsNameTheRightFileAmongPorts() {
        let ports = [
            PortRules(name: "waf", rulesFile: "filters/waf.rules", text: "accept tcp dport 80\n"),
            PortRules(name: "ids", rulesFile: "filters/ids.rules", text: "accept udp\n\n\naccept tcp\naccept pcap \"tcp prt 80\"\n"),
        ]
        #expect(throws: RulesError(file: "filters/ids.rules", line: 5, column: nil, kind: .badPcapExpression,
                                   reason: "pcap expression \"tcp prt 80\": syntax error")) {
            try CompiledRuleSet(ports: ports, sources: Harness.sources)
        }
    }

    @Test func portLevelErrors() {
        func error(_ ports: [PortRules]) -> RulesError? {
            do { _ = try CompiledRuleSet(ports: ports, sources: []); return nil } catch { return error }
        }
        let bad = error([PortRules(name: "a", rulesFile: "a.rules", text: "accept any", sample: 0)])
        #expect(bad?.kind == .badSample)
        #expect(bad?.description == "a.rules: port 'a': bad sample 1/0 (expected N from 1 to 16777216)")
        #expect(error([PortRules(name: "a", rulesFile: "a.rules", text: "", slice: 0)])?.kind == .badSlice)
        let duplicate = error([Support.port("a", ""), Support.port("a", "")])
        #expect(duplicate?.description == "a.rules: duplicate port name 'a'")
        let many = error((0..<65).map { Support.port("p\($0)", "accept any") })
        #expect(many?.kind == .badPortConfig)
        #expect(many?.description == "p64.rules: port 'p64': at most 64 ports can have rules (65 given)")
        #expect(error((0..<64).map { Support.port("p\($0)", "accept any") }) == nil)
    }

    @Test func namesAreUncheckedWithoutASourceList() throws {
        let rules = try CompiledRuleSet(ports: [Support.port("a", "accept source vnet9\naccept guest nobody")], sources: [])
        #expect(rules.ports[0].rules.count == 2)
        #expect(rules.linkTypes == [.ethernet])
    }

    @Test func pcapExpressionRejectingAllPacketsOfOneLinkTypeOnly() throws {
        let ipv6Only = SourceDescription(name: "raw6", linkType: .ipv6, snaplen: 65535, origin: "raw6")
        let ethernet = SourceDescription(name: "eth", linkType: .ethernet, snaplen: 65535, origin: "eth")
        // `icmp` can never match raw IPv6 but can on Ethernet: fine with both sources.
        _ = try CompiledRuleSet(ports: [Support.port("a", "accept pcap \"icmp\"")], sources: [ipv6Only, ethernet])
        // With only the raw IPv6 source it can never match anything: an error.
        #expect(throws: RulesError.self) {
            try CompiledRuleSet(ports: [Support.port("a", "accept pcap \"icmp\"")], sources: [ipv6Only])
        }
    }

    @Test func emptyAndCommentOnlyFilesAreFine() throws {
        let rules = try CompiledRuleSet(ports: [Support.port("a", ""), Support.port("b", "# only\n  # comments\n")], sources: [])
        #expect(rules.ruleCount == 0)
    }
}
