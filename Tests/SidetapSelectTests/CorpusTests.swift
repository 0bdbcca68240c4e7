import SidetapCore
import SidetapPcap
import SidetapSelect
import Testing

/// Every capture of the corpus goes through decode and selection with native and pcap rules.
@Suite struct CorpusTests {
    static let mixedRules = """
        # a non-trivial rule set mixing native, per-packet and pcap rules
        reject pcap "less 42"
        accept tcp dport 80,443 flags syn,!ack slice 96
        accept udp port 53 slice 128
        accept host 10.0.0.0/8,2001:db8::/32 not icmp sample 1/2
        reject vlan 1,2,100
        accept source file pcap "greater 1000"
        accept guest guest1 not ip not ip6 sample 1/3
        accept direction in proto 17
        accept flags !ack
        """

    @Test func everyCorpusFileIsSelectedWithoutCrashing() throws {
        let files = try Support.corpusFiles()
        #expect(files.count >= 800)
        var opened = 0
        var packets = 0
        for path in files {
            let capture: OfflineCapture
            do {
                capture = try OfflineCapture(path: path)
            } catch {
                // libpcap refuses the file: tcpdump must refuse it as well.
                #expect(throws: SupportError.self, "\(path): OfflineCapture failed (\(error)) but tcpdump read it") {
                    try Support.tcpdumpCount(path, "")
                }
                continue
            }
            let linkType = capture.linkType, snaplen = capture.snaplen
            capture.close()
            opened += 1
            let ports = [
                Support.port("mixed", Self.mixedRules),
                Support.port("big", "accept pcap \"greater 100\""),
                Support.port("all", "accept any"),
            ]
            let rules = try CompiledRuleSet(ports: ports, sources: [Support.source(for: path, linkType: linkType, snaplen: snaplen)])
            let cached = try Selector(rules).run(path)
            let uncached = try Selector(rules, flowCacheSize: 0).run(path)
            packets += cached.delivered
            #expect(cached.delivered == (try Support.tcpdumpCount(path, "")), "\(path): packets delivered")
            #expect(cached.accepted[1] == (try Support.tcpdumpCount(path, "greater 100")), "\(path): 'greater 100'")
            #expect(cached.accepted[2] == cached.delivered, "\(path): 'accept any'")
            #expect(cached.decisions == uncached.decisions, "\(path): cached and uncached decisions differ")
            #expect(cached.slices == uncached.slices, "\(path): cached and uncached slices differ")
        }
        #expect(opened >= 800)
        #expect(packets > 10_000)
    }
}
