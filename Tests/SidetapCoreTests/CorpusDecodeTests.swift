import Foundation
import SidetapCore
import SidetapPcap
import SidetapTestKit
import Testing

/// Every packet of the tcpdump test corpus (830 files, many deliberately malformed) through
/// `PacketDecoder.decode` and `FlowKey.make`: no crash, every offset inside the capture, every
/// packet libpcap reads decoded, and the corpus's variety actually reached.
@Suite struct CorpusDecodeTests {
    /// `../shared/corpus/tcpdump-tests` beside the repository (located by SidetapTestKit).
    static let corpus: String? = TestPaths.corpusDirectory

    /// What the corpus yielded, summed over every packet.
    struct Tally {
        var packets = 0
        var ipv4 = 0, ipv6 = 0, vlan = 0, qinq = 0, tcp = 0, udp = 0, icmp = 0, icmpv6 = 0
        var fragments = 0, ipv6Extensions = 0, inbound = 0, outbound = 0
        var stops: [DecodeStop.Reason: Int] = [:]
        var stopLayers: Set<DecodeStop.Layer> = []
    }

    /// Counts a file's packets with a plain libpcap loop (the reference count).
    static func libpcapCount(_ path: String) -> Int? {
        guard let capture = try? OfflineCapture(path: path) else { return nil }
        defer { capture.close() }
        var count = 0
        while case .packet = capture.next() { count += 1 }
        return count
    }

    @Test func everyCorpusPacketDecodesWithinBounds() throws {
        let directory = try #require(Self.corpus, "corpus not found next to the repository (../shared/corpus/tcpdump-tests)")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
        #expect(names.count >= 800)

        var tally = Tally()
        var expected = 0
        var decoded = DecodedPacket()
        var linkTypes: Set<LinkType> = []
        for name in names {
            let path = "\(directory)/\(name)"
            let reference = try #require(Self.libpcapCount(path), "libpcap refuses \(name)")
            expected += reference
            let capture = try OfflineCapture(path: path)
            defer { capture.close() }
            linkTypes.insert(capture.linkType)
            reading: while true {
                guard case .packet(let packet) = capture.next() else { break reading }
                tally.packets += 1
                PacketDecoder.decode(packet.bytes, linkType: capture.linkType, into: &decoded)
                Self.checkBounds(decoded, count: packet.bytes.count, file: name)
                Self.checkFlowKey(decoded, file: name)
                Self.count(decoded, into: &tally)
            }
        }

        print("decoded \(tally.packets) packets of \(names.count) files, link types \(linkTypes.count): "
              + "IPv4 \(tally.ipv4), IPv6 \(tally.ipv6), VLAN \(tally.vlan), QinQ \(tally.qinq), TCP \(tally.tcp), "
              + "UDP \(tally.udp), ICMP \(tally.icmp), ICMPv6 \(tally.icmpv6), fragments \(tally.fragments), "
              + "IPv6 extension headers \(tally.ipv6Extensions), SLL in/out \(tally.inbound)/\(tally.outbound); "
              + "stops \(tally.stops.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key): \($0.value)" })")
        #expect(tally.packets == expected)
        #expect(tally.packets > 10_000)
        #expect(tally.ipv4 > 1000 && tally.ipv6 > 500)
        #expect(tally.tcp > 500 && tally.udp > 500 && tally.icmp > 20 && tally.icmpv6 > 20)
        #expect(tally.vlan > 10 && tally.qinq > 0)
        #expect(tally.fragments > 0 && tally.ipv6Extensions > 0)
        #expect(tally.inbound > 0 && tally.outbound > 0)
        for reason in [DecodeStop.Reason.complete, .unsupported, .truncated, .malformed, .unknownLinkType] {
            #expect(tally.stops[reason, default: 0] > 0, "no packet stopped as \(reason)")
        }
        #expect(tally.stopLayers.isSuperset(of: [.link, .ipv4, .ipv6, .tcp, .payload]))
    }

    static func checkBounds(_ d: DecodedPacket, count: Int, file: String) {
        let context: Comment = "\(file): \(d.stop)"
        #expect(d.stop.offset >= 0 && d.stop.offset <= count, context)
        #expect(d.networkEnd >= 0 && d.networkEnd <= count, context)
        #expect([0, 4, 6].contains(d.ipVersion), context)
        #expect(Int(d.vlanCount) <= PacketDecoder.maximumVLANTags, context)
        if d.ipVersion == 0 {
            #expect(d.networkOffset == -1 && d.transportOffset == -1, context)
        } else {
            let header = d.ipVersion == 4 ? IPv4View.minimumHeaderLength : IPv6View.headerLength
            #expect(d.networkOffset >= 0 && d.networkOffset + header <= count, context)
            #expect(d.networkEnd >= d.networkOffset, context)
        }
        if d.transportOffset >= 0 {
            #expect(d.transportOffset > d.networkOffset && d.transportOffset <= d.networkEnd, context)
            if d.hasTCP { #expect(d.transportOffset + TCPView.minimumHeaderLength <= d.networkEnd, context) }
            if d.hasUDP { #expect(d.transportOffset + UDPView.headerLength <= d.networkEnd, context) }
        }
        if d.payloadOffset >= 0 {
            #expect(d.payloadOffset >= max(d.networkOffset, d.transportOffset) && d.payloadOffset <= d.networkEnd, context)
        }
        if d.stop.reason == .complete {
            #expect(d.stop.layer == .payload, context)
        }
    }

    /// The key is the same from both ends; the reversed flag flips with the direction.
    static func checkFlowKey(_ d: DecodedPacket, file: String) {
        let (key, reversed) = FlowKey.make(d)
        var mirror = d
        swap(&mirror.source, &mirror.destination)
        swap(&mirror.sourcePort, &mirror.destinationPort)
        swap(&mirror.sourceMAC, &mirror.destinationMAC)
        let (mirrorKey, mirrorReversed) = FlowKey.make(mirror)
        #expect(key == mirrorKey, "\(file)")
        #expect(key.symmetricHash == mirrorKey.symmetricHash, "\(file)")
        let sameEnds = d.ipVersion != 0
            ? d.source == d.destination && (d.sourcePort == d.destinationPort || !d.hasPorts || d.isFragment)
            : d.sourceMAC == d.destinationMAC
        if !sameEnds { #expect(reversed != mirrorReversed, "\(file)") }
        if d.ipVersion != 0 && d.hasPorts && !d.isFragment {
            #expect(Set([key.lowerPort, key.upperPort]) == Set([d.sourcePort, d.destinationPort]), "\(file)")
            #expect(key.ipProtocol == d.ipProtocol, "\(file)")
        }
        #expect(key.vlan == (d.vlanCount > 0 ? d.outerVLAN : 0xFFFF), "\(file)")
    }

    static func count(_ d: DecodedPacket, into tally: inout Tally) {
        if d.ipVersion == 4 { tally.ipv4 += 1 }
        if d.ipVersion == 6 { tally.ipv6 += 1 }
        if d.vlanCount >= 1 { tally.vlan += 1 }
        if d.vlanCount >= 2 { tally.qinq += 1 }
        if d.hasTCP { tally.tcp += 1 }
        if d.hasUDP { tally.udp += 1 }
        if d.transportOffset >= 0 && d.ipProtocol == IPProtocolNumber.icmp { tally.icmp += 1 }
        if d.transportOffset >= 0 && d.ipProtocol == IPProtocolNumber.icmpv6 { tally.icmpv6 += 1 }
        if d.isFragment { tally.fragments += 1 }
        if d.stop.layer == .ipv6Extension || (d.ipVersion == 6 && d.transportOffset > d.networkOffset + IPv6View.headerLength) {
            tally.ipv6Extensions += 1
        }
        if d.direction == .inbound { tally.inbound += 1 }
        if d.direction == .outbound { tally.outbound += 1 }
        tally.stops[d.stop.reason, default: 0] += 1
        tally.stopLayers.insert(d.stop.layer)
    }
}
