import Foundation
import SidetapCore
import SidetapTraffic
import Testing

/// tshark's view of a generated capture: DNS parses, nothing is malformed, every checksum verifies.
@Suite("TrafficGenerator: checked by tshark", .serialized)
struct GeneratorWiresharkTests {
    static let checksumOptions = [
        "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
    ]   // ICMP and ICMPv6 checksums are always verified

    @Test(arguments: [UInt64(1), 77])
    func capturePassesTshark(seed: UInt64) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/gen.pcap"
        let written = try TrafficGenerator(seed: seed, packets: 20_000).write(to: path)
        #expect(written == 20_000)
        #expect(try tsharkCount(path, "frame") == 20_000)
        #expect(try tsharkCount(path, "dns") > 100)
        #expect(try tsharkCount(path, "dns.flags.response == 1 and dns.count.answers > 0") > 30)
        #expect(try tsharkCount(path, "ntp") > 10)
        #expect(try tsharkCount(path, "syslog") > 10)
        #expect(try tsharkCount(path, "_ws.malformed") == 0)
        #expect(try tsharkCount(path, "_ws.expert.severity >= error") == 0)
        let bad = "tcp.checksum.status==2 or udp.checksum.status==2 or ip.checksum.status==2 or icmp.checksum.status==2 or icmpv6.checksum.status==2"
        #expect(try tsharkCount(path, bad, options: Self.checksumOptions) == 0)
        #expect(try tsharkCount(path, "tcp.checksum.status==1", options: Self.checksumOptions) > 10_000)
    }

    @Test func sampleCapturePassesTshark() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sample.pcap"
        try TrafficGenerator.sample().write(to: path)
        #expect(try tsharkCount(path, "_ws.malformed") == 0)
        #expect(try tsharkCount(path, "dns") > 10)
        #expect(try tsharkCount(path, "vlan.id == 100 or vlan.id == 200 or vlan.id == 300") > 50)
        #expect(try tsharkCount(path, "ipv6 and tcp.flags.syn == 1") > 0)
    }

    @Test func handBuiltFramesPassTshark() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/built.pcap"
        let writer = try PcapWriter(path: path)
        let a = IPAddress("10.0.1.5")!, b = IPAddress("10.0.2.9")!
        let a6 = IPAddress("fd00:1::5")!, b6 = IPAddress("fd00:2::9")!
        let frames: [BuiltFrame] = [
            FrameBuilder(network: .ipv4(IPv4Header(source: a, destination: b, options: [1, 1, 1, 0])),
                         transport: .tcp(TCPHeader(sourcePort: 1, destinationPort: 80, flags: [.syn], options: [.maximumSegmentSize(1460), .windowScale(7)]))).build(),
            FrameBuilder(link: .ethernet(tags: [.dot1ad(10), .dot1Q(20)]), network: .ipv4(IPv4Header(source: a, destination: b)),
                         transport: .udp(sourcePort: 9, destinationPort: 9), payload: Array(repeating: 0xFF, count: 33)).build(),
            FrameBuilder(network: .ipv4(IPv4Header(source: a, destination: b)), transport: .icmpEcho(identifier: 3, sequence: 4), payload: [1, 2, 3]).build(),
            FrameBuilder(network: .ipv6(IPv6Header(source: a6, destination: b6, extensions: [.hopByHop(options: [5, 2, 0, 0]), .destinationOptions()])),
                         transport: .tcp(TCPHeader(sourcePort: 2, destinationPort: 443, sequence: 10, acknowledgment: 20)), payload: Array("abc".utf8)).build(),
            FrameBuilder(network: .ipv6(IPv6Header(source: a6, destination: b6)), transport: .icmpv6Echo(reply: true), payload: [9]).build(),
            FrameBuilder(network: .ipv6(IPv6Header(source: a6, destination: b6)), transport: .udp(sourcePort: 7, destinationPort: 7), payload: [0xFF, 0xFF]).build(),
        ]
        for (index, frame) in frames.enumerated() { try writer.write(frame.bytes, timestampNanos: Int64(index) * 1000) }
        try writer.close()
        let good = "tcp.checksum.status==1 or udp.checksum.status==1 or icmp.checksum.status==1 or icmpv6.checksum.status==1"
        #expect(try tsharkCount(path, good, options: Self.checksumOptions) == frames.count)
        #expect(try tsharkCount(path, "ip.checksum.status==1", options: Self.checksumOptions) == 3)
        #expect(try tsharkCount(path, "_ws.malformed") == 0)
        #expect(try tsharkCount(path, "ieee8021ad.id == 10 and vlan.id == 20") == 1)
    }
}
