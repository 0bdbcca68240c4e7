import SidetapCore
import SidetapTraffic
import Testing

/// Counts over one generated capture.
struct MixCounts {
    var total = 0, tcp = 0, udp = 0, icmp = 0, ipv6 = 0, tagged = 0, incomplete = 0
    var web = 0, dns = 0, eastWest = 0, northSouth = 0, ntp = 0, syslog = 0, ssh = 0, database = 0
    var vlans = Set<UInt16>()
    var minimumSize = Int.max, maximumSize = 0, maximumUntagged = 0
    var badAddress = 0, badMAC = 0
    var previousTimestamp: Int64 = 0, minimumGap = Int64.max, maximumGap: Int64 = 0

    init(_ generator: TrafficGenerator) {
        var packet = DecodedPacket()
        let guestA = IPAddress("10.0.1.0")!.ipv4Value, guestB = IPAddress("10.0.2.0")!.ipv4Value
        let outside = IPAddress("10.99.0.0")!.ipv4Value
        generator.forEachFrame { timestamp, bytes in
            total += 1
            if previousTimestamp != 0 {
                minimumGap = min(minimumGap, timestamp - previousTimestamp)
                maximumGap = max(maximumGap, timestamp - previousTimestamp)
            }
            previousTimestamp = timestamp
            PacketDecoder.decode(bytes, linkType: .ethernet, into: &packet)
            if !packet.stop.isComplete { incomplete += 1 }
            minimumSize = min(minimumSize, bytes.count)
            maximumSize = max(maximumSize, bytes.count)
            if packet.vlanCount == 0 { maximumUntagged = max(maximumUntagged, bytes.count) }
            if packet.vlanCount > 0 { tagged += 1; vlans.insert(packet.outerVLAN) }
            if packet.ipVersion == 6 { ipv6 += 1 }
            switch packet.ipProtocol {
            case IPProtocolNumber.tcp: tcp += 1
            case IPProtocolNumber.udp: udp += 1
            case IPProtocolNumber.icmp, IPProtocolNumber.icmpv6: icmp += 1
            default: break
            }
            if !packet.source.isGeneratedRange || !packet.destination.isGeneratedRange { badAddress += 1 }
            for mac in [packet.sourceMAC, packet.destinationMAC] where (mac >> 40) & 0x03 != 0x02 { badMAC += 1 }
            let ports = [packet.sourcePort, packet.destinationPort]
            if packet.hasTCP && (ports.contains(80) || ports.contains(443)) { web += 1 }
            if packet.hasTCP && ports.contains(22) { ssh += 1 }
            if packet.hasTCP && (ports.contains(5432) || ports.contains(3306)) { database += 1 }
            if packet.hasUDP && ports.contains(53) { dns += 1 }
            if packet.hasUDP && ports.contains(123) { ntp += 1 }
            if packet.hasUDP && ports.contains(514) { syslog += 1 }
            let s = packet.source, d = packet.destination
            if (s.inIPv4Network(guestA, bits: 24) && d.inIPv4Network(guestB, bits: 24))
                || (s.inIPv4Network(guestB, bits: 24) && d.inIPv4Network(guestA, bits: 24)) { eastWest += 1 }
            if s.inIPv4Network(outside, bits: 16) || d.inIPv4Network(outside, bits: 16) { northSouth += 1 }
        }
    }

    func share(_ count: Int) -> Double { Double(count) / Double(total) }
}

@Suite("TrafficGenerator: mix")
struct GeneratorMixTests {
    @Test func proportionsWithinTolerance() {
        let counts = MixCounts(TrafficGenerator(seed: 7, packets: 60_000))
        #expect(counts.total == 60_000)
        #expect(abs(counts.share(counts.tcp) - 0.80) < 0.03, "tcp \(counts.share(counts.tcp))")
        #expect(abs(counts.share(counts.udp) - 0.17) < 0.03, "udp \(counts.share(counts.udp))")
        #expect(abs(counts.share(counts.icmp) - 0.03) < 0.015, "icmp \(counts.share(counts.icmp))")
        #expect(abs(counts.share(counts.ipv6) - 0.08) < 0.02, "ipv6 \(counts.share(counts.ipv6))")
        #expect(abs(counts.share(counts.tagged) - 0.10) < 0.02, "tagged \(counts.share(counts.tagged))")
        #expect(counts.tcp + counts.udp + counts.icmp == counts.total)
        #expect(counts.vlans == [100, 200, 300])
        #expect(counts.share(counts.web) > 0.25, "web \(counts.share(counts.web))")
        #expect(counts.dns > 500 && counts.ntp > 50 && counts.syslog > 50 && counts.ssh > 500 && counts.database > 500)
    }

    @Test func framesAreWellFormed() {
        let counts = MixCounts(TrafficGenerator(seed: 11, packets: 40_000))
        #expect(counts.incomplete == 0)
        #expect(counts.minimumSize == 60)
        #expect(counts.maximumUntagged == 1514)
        #expect(counts.maximumSize == 1518)
        #expect(counts.badAddress == 0)
        #expect(counts.badMAC == 0)
        #expect(counts.minimumGap >= 1_000)
        #expect(counts.maximumGap <= 1_000_000)
    }

    @Test func sampleCoversEveryExampleRule() {
        let counts = MixCounts(TrafficGenerator.sample())
        #expect(counts.total == 2_000)
        #expect(counts.incomplete == 0)
        #expect(counts.web > 200)
        #expect(counts.dns > 10)
        #expect(counts.eastWest > 50)
        #expect(counts.northSouth > 200)
        #expect(counts.tagged > 50)
        #expect(counts.ipv6 > 50)
        #expect(counts.vlans == [100, 200, 300])
    }

    @Test func timestampsStartAtTheEpochAndRise() {
        var previous: Int64 = 0
        var first: Int64 = 0
        var ordered = true
        TrafficGenerator(seed: 3, packets: 1_000).forEachFrame { timestamp, _ in
            if first == 0 { first = timestamp }
            if timestamp <= previous { ordered = false }
            previous = timestamp
        }
        #expect(ordered)
        #expect(first > TrafficMix.guestHost.startNanos && first <= TrafficMix.guestHost.startNanos + 1_000_000)
    }
}
