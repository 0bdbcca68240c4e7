import Foundation
import SidetapDaemon
import SidetapPorts
import Testing

/// Every kind of bad config gives its own error, with the file, line, column and reason.
@Suite struct ConfigErrorTests {
    func errors(_ yaml: String) -> [ConfigError] {
        do {
            _ = try SidetapConfig.parse(yaml, file: "t.yaml", baseDirectory: "/base")
            return []
        } catch {
            return error.errors
        }
    }

    func expectError(_ yaml: String, line: Int, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectConfigError(yaml, line: line, containing: text, sourceLocation: sourceLocation)
    }

    let good = """
        sources:
          - name: s1
            file: in.pcap
        ports:
          - name: p1
            kind: discard
            rules: r.rules
        """

    @Test func goodConfigParsesWithDefaultsAndResolvedPaths() throws {
        let config = try SidetapConfig.parse(good, file: "t.yaml", baseDirectory: "/base")
        #expect(config.sources.count == 1)
        #expect(config.sources[0].file == "/base/in.pcap")
        #expect(config.ports[0].rules == "/base/r.rules")
        #expect(config.ports[0].kind == .discard)
        #expect(config.options == EngineOptions())
    }

    @Test func fullPortParses() throws {
        let yaml = """
            sources:
              - { name: s1, file: /abs/in.pcap, guest: web01, reader: libpcap }
            ports:
              - name: waf
                kind: file
                path: out/waf.pcapng
                rules: r.rules
                precision: micro
                rotate: { size: 100MiB, every: 15m, keep: 24 }
                rate: { pps: 10k, bps: 50M, burst: 100, burst_bytes: 64KiB }
                slice: 128
                sample: 1/10
                group: ids
            options: { ring_slots: 4096, ring_bytes: 8MiB, flow_cache: 8192, overflow: drop, status: off }
            """
        let config = try SidetapConfig.parse(yaml, file: "t.yaml", baseDirectory: "/base")
        let port = config.ports[0]
        #expect(port.format == .pcapng)
        #expect(port.nanosecond == false)
        #expect(port.path == "/base/out/waf.pcapng")
        #expect(port.rotate == FileRotation(maxBytes: 100 << 20, intervalSeconds: 900, keep: 24))
        #expect(port.rate == RateConfig(packetsPerSecond: 10_000, bitsPerSecond: 50e6, burstPackets: 100, burstBytes: 64 << 10))
        #expect(port.slice == 128 && port.sample == 10 && port.group == "ids")
        #expect(config.sources[0].guest == "web01")
        #expect(config.options.ringSlots == 4096 && config.options.flowCache == 8192 && config.options.overflow == .drop)
    }

    @Test func yamlSyntaxError() {
        expectError("sources:\n  - name: [unclosed\nports: []\n", line: 3, containing: "YAML")
    }

    @Test func emptyFile() {
        expectError("", line: 1, containing: "empty")
    }

    @Test func unknownTopLevelKeyWithHint() {
        expectError(good + "\noptons: {}\n", line: 8, containing: "unknown key 'optons' in the config (did you mean 'options'?)")
    }

    @Test func unknownSourceKey() {
        expectError("sources:\n  - { name: s, file: a.pcap, gest: x }\nports:\n  - { name: p, kind: discard, rules: r }\n",
                    line: 2, containing: "unknown key 'gest' in a source (did you mean 'guest'?)")
    }

    @Test func unknownPortKey() {
        expectError(good + "\n    rats: { pps: 1 }\n", line: 8, containing: "unknown key 'rats' in a port")
    }

    @Test func missingSectionsAndKeys() {
        expectError("ports:\n  - { name: p, kind: discard, rules: r }\n", line: 1, containing: "needs 'sources'")
        expectError("sources:\n  - { file: a.pcap }\nports:\n  - { name: p, kind: discard, rules: r }\n", line: 2, containing: "needs 'name'")
        expectError("sources:\n  - { name: s, file: a.pcap }\nports:\n  - { name: p, kind: discard }\n", line: 4, containing: "needs 'rules'")
        expectError("sources: []\nports: []\n", line: 1, containing: "'sources' is empty")
    }

    @Test func badValues() {
        let head = "sources:\n  - { name: s, file: a.pcap }\nports:\n"
        expectError(head + "  - { name: p, kind: tape, rules: r }\n", line: 4, containing: "kind must be one of file, stream, discard, socket, interface, tap, vxlan, gre, erspan, got 'tape'")
        expectError(head + "  - { name: p, kind: file, rules: r }\n", line: 4, containing: "a file port needs 'path'")
        expectError(head + "  - { name: p, kind: stream, rules: r }\n", line: 4, containing: "a stream port needs 'path'")
        expectError(head + "  - { name: p, kind: discard, rules: r, path: x }\n", line: 4, containing: "takes no 'path'")
        expectError(head + "  - { name: p, kind: file, path: x, rules: r, format: cap }\n", line: 4, containing: "format must be one of pcap, pcapng")
        expectError(head + "  - { name: p, kind: file, path: x, rules: r, precision: pico }\n", line: 4, containing: "precision must be one of nano, micro")
        expectError(head + "  - { name: p, kind: file, path: x, rules: r, rotate: { size: lots } }\n", line: 4, containing: "rotate.size must be a size")
        expectError(head + "  - { name: p, kind: file, path: x, rules: r, rotate: { every: 0.5s } }\n", line: 4, containing: "rotate.every must be a whole number")
        expectError(head + "  - { name: p, kind: file, path: x, rules: r, rotate: { keep: 3 } }\n", line: 4, containing: "rotate needs 'size' and/or 'every'")
        expectError(head + "  - { name: p, kind: discard, rules: r, rotate: { size: 1MiB } }\n", line: 4, containing: "only file ports rotate")
        expectError(head + "  - { name: p, kind: discard, rules: r, rate: { pps: -5 } }\n", line: 4, containing: "rate.pps must be a positive number")
        expectError(head + "  - { name: p, kind: discard, rules: r, rate: { bps: fast } }\n", line: 4, containing: "rate.bps must be a bit rate")
        expectError(head + "  - { name: p, kind: discard, rules: r, rate: { burst: 10 } }\n", line: 4, containing: "rate needs 'pps'")
        expectError(head + "  - { name: p, kind: discard, rules: r, rate: { bps: 1M, burst: 10 } }\n", line: 4, containing: "rate.burst counts packets and needs rate.pps")
        expectError(head + "  - { name: p, kind: discard, rules: r, rate: { bps: 1M, mbps: 1 } }\n", line: 4, containing: "either rate.bps or rate.mbps")
        expectError(head + "  - { name: p, kind: discard, rules: r, rate: { pps: 10, mode: queue } }\n", line: 4, containing: "rate.mode must be one of police, shape")
        expectError(head + "  - { name: p, kind: discard, rules: r, slice: 4 }\n", line: 4, containing: "slice must be between 14 and 262144")
        expectError(head + "  - { name: p, kind: discard, rules: r, sample: 1/0 }\n", line: 4, containing: "sample must be N or 1/N")
        expectError(head + "  - { name: 'bad name', kind: discard, rules: r }\n", line: 4, containing: "may hold only letters")
        expectError("sources:\n  - { name: s, file: a.pcap, reader: fast }\nports:\n  - { name: p, kind: discard, rules: r }\n", line: 2, containing: "reader must be one of auto, mmap, libpcap")
        expectError(good + "\noptions: { ring_slots: 3 }\n", line: 8, containing: "ring_slots must be between 64")
        expectError(good + "\noptions: { overflow: maybe }\n", line: 8, containing: "overflow must be one of auto, wait, drop")
    }

    @Test func duplicateNamesAndKeys() {
        expectError("sources:\n  - { name: s, file: a.pcap }\n  - { name: s, file: b.pcap }\nports:\n  - { name: p, kind: discard, rules: r }\n",
                    line: 3, containing: "duplicate source name 's' (first declared at line 2)")
        expectError("sources:\n  - { name: s, file: a.pcap, file: b.pcap }\nports:\n  - { name: p, kind: discard, rules: r }\n",
                    line: 2, containing: "duplicate key 'file'")
    }

    @Test func severalErrorsAreReportedTogether() {
        let yaml = "sources:\n  - { name: s, fil: a.pcap }\nports:\n  - { name: p, kind: bogus, rules: r }\n"
        #expect(errors(yaml).count == 2)
    }

    @Test func tooManyPorts() {
        var yaml = "sources:\n  - { name: s, file: a.pcap }\nports:\n"
        for i in 0..<65 { yaml += "  - { name: p\(i), kind: discard, rules: r }\n" }
        #expect(errors(yaml).contains { $0.message.contains("at most 64 ports") })
    }

    @Test func quantities() {
        #expect(Quantities.bytes("64KiB") == 65536)
        #expect(Quantities.bytes("1.5MB") == 1_500_000)
        #expect(Quantities.bytes("x") == nil)
        #expect(Quantities.seconds("15m") == 900)
        #expect(Quantities.seconds("250ms") == 0.25)
        #expect(Quantities.bitsPerSecond("1.5Gbps") == 1.5e9)
        #expect(Quantities.bitsPerSecond("800kbit/s") == 800_000)
        #expect(Quantities.packetsPerSecond("10k") == 10_000)
        #expect(Quantities.packetsPerSecond("0") == nil)
    }

    @Test func missingFileIsAnError() {
        do {
            _ = try SidetapConfig.load(path: "/nonexistent/sidetap.yaml")
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.errors.first?.description.contains("/nonexistent/sidetap.yaml") == true)
        }
    }
}
