import Foundation
import SidetapCore
import SidetapSelect
import Testing

/// Per-packet cost of `Selector.select`, run by hand in a release build (it only measures
/// and prints; timing is not asserted in unit tests):
///
///     SIDETAP_SELECT_TIMING=1 swift test -c release --filter SelectorTiming
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SIDETAP_SELECT_TIMING"] != nil))
struct SelectorTiming {
    struct Prepared {
        var frames: [[UInt8]]
        var decoded: [DecodedPacket]
        var keys: [(FlowKey, Bool, UInt32)]
    }

    /// 512 TCP/UDP/ICMP flows, both directions, 2048 packets.
    static func prepare() -> Prepared {
        var frames: [[UInt8]] = []
        for i in 0..<512 {
            let client = "10.\(i % 4).\(i / 256).\(i % 256)"
            let server = "192.168.\(i % 5).\(1 + i % 13)"
            let port = UInt16(30_000 + i)
            switch i % 8 {
            case 0..<5:
                let dport: UInt16 = [80, 443, 22, 8080, 25][i % 5]
                frames += [Frames.tcp4(client, port, server, dport, flags: 0x010, payload: 200), Frames.tcp4(server, dport, client, port, flags: 0x018, payload: 600),
                           Frames.tcp4(client, port, server, dport, flags: 0x010), Frames.tcp4(server, dport, client, port, flags: 0x010, payload: 1200)]
            case 5, 6:
                frames += [Frames.udp4(client, port, server, 53), Frames.udp4(server, 53, client, port, payload: 300),
                           Frames.udp4(client, port, server, 53), Frames.udp4(server, 53, client, port, payload: 300)]
            default:
                frames += [Frames.icmp4(client, server), Frames.icmp4(server, client), Frames.icmp4(client, server), Frames.icmp4(server, client)]
            }
        }
        var decoded: [DecodedPacket] = []
        var keys: [(FlowKey, Bool, UInt32)] = []
        for frame in frames {
            var d = DecodedPacket()
            frame.withUnsafeBytes { PacketDecoder.decode($0, linkType: .ethernet, into: &d) }
            let (key, reversed) = FlowKey.make(d)
            decoded.append(d)
            keys.append((key, reversed, key.symmetricHash))
        }
        return Prepared(frames: frames, decoded: decoded, keys: keys)
    }

    static let eightRules = """
        reject src 10.99.0.0/16
        reject vlan 999
        accept udp dport 53
        accept tcp dport 22 src 192.168.0.0/16
        reject host 172.31.0.0/16
        accept tcp dport 80,443,8080 slice 256
        accept tcp sport 80,443,8080
        accept icmp
        """

    /// Nanoseconds per packet of the measuring loop alone (reading the prepared packet, no
    /// `select`), to subtract from the results.
    static func loopOverhead(_ prepared: Prepared, rounds: Int = 1000) -> Double {
        var best = Double.infinity
        var total: UInt64 = 0
        let count = prepared.frames.count
        for _ in 0..<5 {
            var start = timespec(), end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            for _ in 0..<rounds {
                for i in 0..<count {
                    let (key, reversed, hash) = prepared.keys[i]
                    let decoded = prepared.decoded[i]
                    total &+= UInt64(hash) &+ UInt64(key.lowerPort) &+ (reversed ? 1 : 0) &+ UInt64(decoded.ipProtocol)
                }
            }
            clock_gettime(CLOCK_MONOTONIC, &end)
            let nanos = Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
            best = min(best, nanos / Double(rounds * count))
        }
        if total == 42 { print("") }
        return best
    }

    /// Nanoseconds per `select` over the prepared packets (measuring loop included).
    static func measure(_ ports: [PortRules], _ prepared: Prepared, flowCacheSize: Int = 65536, rounds: Int = 1000) throws -> (Double, Int) {
        let rules = try CompiledRuleSet(ports: ports, sources: Harness.sources)
        let selector = Selector(rules, flowCacheSize: flowCacheSize)
        let buffers = prepared.frames.map { frame -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: frame.count, alignment: 8)
            b.copyBytes(from: frame)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        let packets = buffers.map { CapturedPacket(bytes: UnsafeRawBufferPointer($0), wireLength: UInt32($0.count), timestampNanos: 0) }
        var total = 0
        let count = packets.count
        var best = Double.infinity
        for _ in 0..<5 {
            var start = timespec(), end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            for _ in 0..<rounds {
                for i in 0..<count {
                    let (key, reversed, hash) = prepared.keys[i]
                    total &+= selector.select(packets[i], decoded: prepared.decoded[i], flow: key, reversed: reversed, hash: hash).count
                }
            }
            clock_gettime(CLOCK_MONOTONIC, &end)
            let nanos = Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
            best = min(best, nanos / Double(rounds * count))
        }
        return (best, total)
    }

    @Test func perPacketCost() throws {
        let prepared = Self.prepare()
        let oneByOne = [Support.port("a", "accept tcp dport 80")]
        let fourByEight = (0..<4).map { Support.port("p\($0)", Self.eightRules, sample: $0 == 3 ? 2 : nil, group: $0 == 1 || $0 == 2 ? "g" : nil) }
        let perPacket = (0..<4).map {
            Support.port("p\($0)", "reject flags rst\naccept pcap \"tcp port 443\" slice 128\n" + Self.eightRules.split(separator: "\n").prefix(6).joined(separator: "\n"))
        }
        let (a, _) = try Self.measure(oneByOne, prepared)
        let (b, _) = try Self.measure(fourByEight, prepared)
        let (c, _) = try Self.measure(perPacket, prepared)
        let (d, _) = try Self.measure(fourByEight, prepared, flowCacheSize: 0, rounds: 200)
        let (e, _) = try Self.measure(oneByOne, prepared, flowCacheSize: 0)
        print(String(format: "measuring loop alone:                      %6.1f ns/packet", Self.loopOverhead(prepared)))
        print(String(format: "select 1 port x 1 rule, cached:            %6.1f ns/packet", a))
        print(String(format: "select 4 ports x 8 native rules, cached:   %6.1f ns/packet", b))
        print(String(format: "select 4 ports x 8 rules incl. flags+pcap: %6.1f ns/packet", c))
        print(String(format: "select 4 ports x 8 native rules, no cache: %6.1f ns/packet", d))
        print(String(format: "select 1 port x 1 rule, no cache:          %6.1f ns/packet", e))
        var one = prepared
        one.frames = Array(repeating: prepared.frames[0], count: 2048)
        one.decoded = Array(repeating: prepared.decoded[0], count: 2048)
        one.keys = Array(repeating: prepared.keys[0], count: 2048)
        let (h, _) = try Self.measure(oneByOne, one)
        let (k, _) = try Self.measure(fourByEight, one)
        print(String(format: "select 1 port x 1 rule, one flow (all in L1): %6.1f ns/packet", h))
        print(String(format: "select 4 ports x 8 rules, one flow (in L1):   %6.1f ns/packet", k))
        let (f, _) = try Self.measure(oneByOne, prepared, flowCacheSize: 2048)
        let (g, _) = try Self.measure(fourByEight, prepared, flowCacheSize: 2048)
        print(String(format: "select 1 port x 1 rule, 2048-flow cache:   %6.1f ns/packet", f))
        print(String(format: "select 4 ports x 8 rules, 2048-flow cache: %6.1f ns/packet", g))
        print(String(format: "engine throughput ratio 4x8 / 1x1 at a 250 ns budget: %.2f", (250 + a) / (250 + b)))
        #expect(a > 0 && b > 0)
    }
}
