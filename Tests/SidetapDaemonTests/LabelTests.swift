import Foundation
import SidetapControl
import SidetapCore
import SidetapDaemon
import SidetapLabels
import SidetapTestKit
import Testing

/// Sensitivity labels end to end: config keys and their errors, enforcement on every packet
/// (label drops per port), and the `sidetap check` report.
@Suite(.serialized) struct LabelTests {
    static let encodings = """
        # test encodings
        classification 0  PUBLIC P
        classification 20 SECRET S
        compartment 0 FINANCE FIN
        compartment 1 HR
        """
    /// Where the generated traffic's second guest subnet lives (AddressPlan.guestSubnetB).
    static let finNet = "net 10.0.2.0/24 or net fd00:2::/64"
    static let touchesFin = "(\(finNet)) or (vlan and (\(finNet)))"

    /// A directory with the encodings, `web.pcap` (PUBLIC) and `fin.pcap` (SECRET FINANCE),
    /// and a config whose ports are given as (name, clearance, rules).
    func job(_ tag: String, finAddresses: Bool, ports: [(String, String?, String)], extra: String = "") throws -> (String, String) {
        let dir = TestSupport.temporaryDirectory(tag)
        try Self.encodings.write(toFile: dir + "/site.labels", atomically: true, encoding: .utf8)
        try TestSupport.writeCapture(dir + "/web.pcap", packets: 3000, seed: 11)
        try TestSupport.writeCapture(dir + "/fin.pcap", packets: 700, seed: 12)
        var yaml = """
            labels: site.labels
            sources:
              - { name: web, file: web.pcap, guest: web01, label: PUBLIC }
              - { name: fin, file: fin.pcap, guest: fin01, label: SECRET FINANCE\(finAddresses ? ", addresses: [10.0.2.0/24, 'fd00:2::/64']" : "") }
            ports:

            """
        for (name, clearance, rules) in ports {
            try rules.write(toFile: "\(dir)/\(name).rules", atomically: true, encoding: .utf8)
            yaml += "  - { name: \(name), kind: file, path: \(name).pcap, rules: \(name).rules\(clearance.map { ", clearance: \($0)" } ?? "") }\n"
        }
        yaml += "control: { audit: audit.jsonl }\n" + extra
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        return (dir, dir + "/c.yaml")
    }

    func run(_ path: String) throws -> EngineStatistics {
        let engine = try EngineAssembly.build(try SidetapConfig.load(path: path))
        try engine.start()
        engine.waitUntilFinished()
        return engine.statistics()
    }

    @Test func aPortClearedBelowAGuestReceivesNothingFromIt() throws {
        let (dir, path) = try job("lab-const", finAddresses: false, ports: [
            ("low", nil, "accept any\n"), ("high", "SECRET FINANCE HR", "accept any\n"),
        ])
        defer { TestSupport.cleanup(dir) }
        let stats = try run(path)
        let low = stats.ports[0], high = stats.ports[1]
        // The high port receives everything; the low one exactly web's packets, none of fin's.
        #expect(high.sent == 3700 && high.droppedLabel == 0)
        #expect(low.sent == 3000 && low.droppedLabel == 700)
        #expect(try TestSupport.tcpdumpDump(dir + "/low.pcap") == TestSupport.tcpdumpDump(dir + "/web.pcap"))
        #expect(try TestSupport.tcpdumpCount(dir + "/high.pcap") == 3700)
        // Label drops are a decision, not a loss.
        #expect(low.dropped == 0)
        #expect(Summary.render(stats).contains("label"))
    }

    @Test func aPacketBetweenGuestsCarriesTheirLeastUpperBound() throws {
        let (dir, path) = try job("lab-lub", finAddresses: true, ports: [
            ("low", "PUBLIC", "accept any\n"), ("high", "S FIN", "accept any\n"),
        ])
        defer { TestSupport.cleanup(dir) }
        let stats = try run(path)
        let low = stats.ports[0], high = stats.ports[1]
        let webTouchingFin = try TestSupport.tcpdumpCount(dir + "/web.pcap", expression: Self.touchesFin)
        #expect(webTouchingFin > 0, "the generated capture has no traffic of fin's subnet")
        // The low port gets web's packets except those to or from fin's addresses.
        #expect(low.sent == UInt64(3000 - webTouchingFin))
        #expect(low.droppedLabel == UInt64(700 + webTouchingFin))
        #expect(try TestSupport.tcpdumpDump(dir + "/low.pcap")
                == TestSupport.tcpdumpDump(dir + "/web.pcap", expression: "not (\(Self.touchesFin))"))
        #expect(high.sent == 3700 && high.droppedLabel == 0)
    }

    @Test func withoutLabelsNothingChanges() throws {
        let dir = TestSupport.temporaryDirectory("lab-none")
        defer { TestSupport.cleanup(dir) }
        let path = try TestSupport.writeOnePortJob(dir, packets: 500, port: "name: all, kind: discard", rules: "accept any\n")
        let config = try SidetapConfig.load(path: path)
        #expect(config.labels == nil && config.labelAssignment == nil)
        let stats = try run(path)
        #expect(stats.ports[0].sent == 500 && stats.ports[0].droppedLabel == 0)
        #expect(!Summary.render(stats).contains("label"))
    }

    @Test func checkReportsReceiversAndDeadRules() throws {
        let (dir, path) = try job("lab-check", finAddresses: true, ports: [
            ("low", nil, "accept source fin tcp\naccept guest web01\n"),
            ("mid", "PUBLIC", "accept any\n"),
            ("high", "SECRET FINANCE", "accept source web,fin\n"),
        ])
        defer { TestSupport.cleanup(dir) }
        let report = ConfigCheck.run(path: path)
        #expect(report.ok, "\(report.text)")
        let text = report.text
        #expect(text.contains("source fin: label SECRET FINANCE; owns 10.0.2.0/24, fd00:2::/64"))
        #expect(text.contains("port low: clearance PUBLIC; receives from web (except flows touching the addresses of fin); never from fin (SECRET FINANCE)"),
                "\(text)")
        #expect(text.contains("port high: clearance SECRET FINANCE; receives from web, fin"), "\(text)")
        // The rule restricted to fin on the PUBLIC port can never deliver; the others can.
        #expect(text.contains("low.rules:1: port 'low': this rule accepts only packets of fin (SECRET FINANCE)"), "\(text)")
        #expect(!text.contains("low.rules:2:"))
        #expect(!text.contains("high.rules:1:"))
    }

    @Test func checkWarnsAboutAPortThatReceivesFromNoSource() throws {
        let (dir, path) = try job("lab-none-rx", finAddresses: false, ports: [("low", nil, "accept any\n")],
                                  extra: "")
        defer { TestSupport.cleanup(dir) }
        // Make web SECRET too: the PUBLIC port can then receive nothing.
        let yaml = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "label: PUBLIC", with: "label: SECRET")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let report = ConfigCheck.run(path: path)
        #expect(report.text.contains("port 'low': its clearance PUBLIC dominates no source's label: it can never receive anything"), "\(report.text)")
    }
}

/// Label keys in the config: each mistake names the file, the line and the reason.
@Suite struct LabelConfigTests {
    func withEncodings(_ yaml: String, line: Int, containing text: String, encodings: String = LabelTests.encodings,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = TestSupport.temporaryDirectory("lab-cfg")
        defer { TestSupport.cleanup(dir) }
        try encodings.write(toFile: dir + "/site.labels", atomically: true, encoding: .utf8)
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try SidetapConfig.load(path: dir + "/c.yaml")
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch {
            let match = error.errors.first { $0.message.contains(text) }
            #expect(match != nil, "\(error.errors)", sourceLocation: sourceLocation)
            #expect(match?.line == line, "\(error.errors)", sourceLocation: sourceLocation)
            #expect(match?.file == dir + (text.contains("keyword") ? "/site.labels" : "/c.yaml"), sourceLocation: sourceLocation)
        }
    }

    static let digest = TokenDigest(token: "stp_test").description
    static let body = "sources:\n  - { name: a, file: a.pcap }\nports:\n  - { name: p, kind: discard, rules: p.rules }\n"

    @Test func labelsAreParsedWithDefaults() throws {
        let dir = TestSupport.temporaryDirectory("lab-ok")
        defer { TestSupport.cleanup(dir) }
        try LabelTests.encodings.write(toFile: dir + "/site.labels", atomically: true, encoding: .utf8)
        let yaml = """
            labels: site.labels
            sources:
              - { name: a, file: a.pcap, label: s fin, addresses: [10.0.0.5, 'fd00::/64'] }
              - { name: b, file: b.pcap }
            ports:
              - { name: p, kind: discard, rules: p.rules, clearance: SECRET FINANCE HR }
              - { name: q, kind: discard, rules: p.rules }
            """
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let config = try SidetapConfig.load(path: dir + "/c.yaml")
        let assignment = try #require(config.labelAssignment)
        #expect(config.labels?.path == dir + "/site.labels")
        #expect(assignment.sources[0].label == Label(classification: 20, compartments: CompartmentSet([0])))
        #expect(assignment.sources[0].addresses.map(\.description) == ["10.0.0.5/32", "fd00::/64"])
        #expect(assignment.sources[1].label == Label(classification: 0))           // default: lowest
        #expect(assignment.ports[0].clearance == Label(classification: 20, compartments: CompartmentSet([0, 1])))
        #expect(assignment.ports[1].clearance == Label(classification: 0))          // default: lowest
    }

    @Test func errorsNameFileLineAndReason() throws {
        try withEncodings("labels: site.labels\n" + Self.body.replacingOccurrences(of: "a.pcap }", with: "a.pcap, label: TOP }"),
                          line: 3, containing: "label: 'TOP' is not a classification")
        try withEncodings("labels: site.labels\n" + Self.body.replacingOccurrences(of: "p.rules }", with: "p.rules, clearance: SECRET LEGAL }"),
                          line: 5, containing: "clearance: 'LEGAL' is not a compartment")
        try withEncodings(Self.body.replacingOccurrences(of: "p.rules }", with: "p.rules, clearance: SECRET }"),
                          line: 4, containing: "'clearance' needs a label-encodings file")
        try withEncodings("labels: site.labels\n" + Self.body, line: 3, containing: "unknown keyword 'level'",
                          encodings: "classification 0 LOW\nclassification 1 HIGH\nlevel 3 X\n")
        try withEncodings("labels: missing.labels\n" + Self.body, line: 1, containing: "missing.labels does not exist")
        try withEncodings("labels: site.labels\n" + Self.body.replacingOccurrences(of: "a.pcap }", with: "a.pcap, addresses: [10.0.0.1/8] }"),
                          line: 3, containing: "addresses: '10.0.0.1/8' is not an address")
        try withEncodings("""
            labels: site.labels
            sources:
              - { name: a, file: a.pcap, addresses: [10.0.0.0/16] }
              - { name: b, file: b.pcap, label: SECRET, addresses: [10.0.3.0/24] }
            ports:
              - { name: p, kind: discard, rules: p.rules }
            """, line: 4, containing: "address 10.0.3.0/24 overlaps 10.0.0.0/16 of source 'a', which has another label")
        // Valid combinations: a label outside them is an error.
        try withEncodings("labels: site.labels\n" + Self.body.replacingOccurrences(of: "p.rules }", with: "p.rules, clearance: SECRET HR }"),
                          line: 5, containing: "not one of the valid combinations",
                          encodings: LabelTests.encodings + "\ncombination PAY = SECRET FINANCE HR\n")
    }

    @Test func applianceClearance() throws {
        let dir = TestSupport.temporaryDirectory("lab-app")
        defer { TestSupport.cleanup(dir) }
        try LabelTests.encodings.write(toFile: dir + "/site.labels", atomically: true, encoding: .utf8)
        let certificates = try TestCertificates(in: dir + "/tls")
        let yaml = """
            labels: site.labels
            sources: [{ name: a, file: a.pcap, label: SECRET }]
            ports: [{ name: p, kind: discard, rules: p.rules }]
            control:
              listen: 127.0.0.1:18443
              tls: { certificate: \(certificates.serverCertificate), key: \(certificates.serverKey) }
              appliances:
                - { name: ids, token: "\(Self.digest)", actions: [cut], networks: [10.0.0.0/8], clearance: SECRET HR }
                - { name: low, token: "\(Self.digest)", actions: [cut], networks: [10.0.0.0/8] }
                - { name: bad, token: "\(Self.digest)", actions: [cut], networks: [10.0.0.0/8], clearance: COSMIC }
            """
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try SidetapConfig.load(path: dir + "/c.yaml")
            Issue.record("accepted an unknown classification")
        } catch {
            #expect(error.errors.contains { $0.line == 10 && $0.message.contains("clearance: 'COSMIC' is not a classification") }, "\(error.errors)")
        }
        try yaml.replacingOccurrences(of: "\n    - { name: bad, token: \"\(Self.digest)\", actions: [cut], networks: [10.0.0.0/8], clearance: COSMIC }", with: "")
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let config = try SidetapConfig.load(path: dir + "/c.yaml")
        #expect(config.control.appliances.map(\.clearance) == [Label(classification: 20, compartments: CompartmentSet([1])), nil])
    }
}
