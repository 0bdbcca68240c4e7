import Foundation

/// Hand-built frames for tests: Ethernet (optionally VLAN/QinQ-tagged), IPv4/IPv6 (with an
/// optional hop-by-hop header or fragmentation), TCP, UDP, ICMP, ICMPv6, ARP.
enum FrameBuilder {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func mac(_ v: UInt64) -> [UInt8] { (0..<6).map { UInt8(v >> (8 * UInt64(5 - $0)) & 0xFF) } }

    static func ethernet(destination: UInt64, source: UInt64, vlans: [UInt16] = [], etherType: UInt16, payload: [UInt8]) -> [UInt8] {
        var out = mac(destination) + mac(source)
        for (i, vlan) in vlans.enumerated() {
            out += be16(i == 0 && vlans.count > 1 ? 0x88A8 : 0x8100) + be16(vlan & 0x0FFF)
        }
        out += be16(etherType) + payload
        while out.count < 60 { out.append(0) }   // Ethernet minimum (padding)
        return out
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func ipv4(source: UInt32, destination: UInt32, protocolNumber: UInt8, payload: [UInt8],
                     identification: UInt16 = 1, fragmentOffset: UInt16 = 0, moreFragments: Bool = false, ttl: UInt8 = 64) -> [UInt8] {
        var header: [UInt8] = [0x45, 0]
        header += be16(UInt16(20 + payload.count)) + be16(identification)
        header += be16((moreFragments ? 0x2000 : 0) | (fragmentOffset / 8))
        header += [ttl, protocolNumber, 0, 0] + be32(source) + be32(destination)
        let sum = checksum(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xFF)
        return header + payload
    }

    static func ipv6(source: [UInt8], destination: [UInt8], nextHeader: UInt8, payload: [UInt8], hopByHop: Bool = false) -> [UInt8] {
        var body = payload
        var next = nextHeader
        if hopByHop {
            body = [nextHeader, 0, 1, 4, 0, 0, 0, 0] + payload   // PadN option
            next = 0
        }
        return [0x60, 0, 0, 0] + be16(UInt16(body.count)) + [next, 64] + source + destination + body
    }

    /// A TCP segment; a SYN carries an MSS option (data offset 6).
    static func tcp(sourcePort: UInt16, destinationPort: UInt16, flags: UInt16, sequence: UInt32 = 1000, payload: [UInt8] = []) -> [UInt8] {
        let options: [UInt8] = flags & 0x002 != 0 ? [2, 4, 0x05, 0xB4] : []
        let offset = UInt8(5 + options.count / 4) << 4
        return be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(flags & 0x10 != 0 ? 5000 : 0)
            + [offset | UInt8(flags >> 8 & 1), UInt8(flags & 0xFF)] + be16(65535) + [0, 0, 0, 0] + options + payload
    }

    static func udp(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8] = []) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
    }

    static func icmp(type: UInt8, code: UInt8 = 0, payload: [UInt8] = []) -> [UInt8] {
        [type, code, 0, 0, 0, 1, 0, 1] + payload
    }

    static func arp(senderMAC: UInt64, senderIP: UInt32, targetIP: UInt32) -> [UInt8] {
        [0, 1, 8, 0, 6, 4, 0, 1] + mac(senderMAC) + be32(senderIP) + mac(0) + be32(targetIP)
    }

    static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
        UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    static func v6(_ groups: [UInt16]) -> [UInt8] { groups.flatMap { be16($0) } }
}

/// Writes a classic pcap file (microsecond timestamps).
enum PcapFileWriter {
    static func write(_ frames: [[UInt8]], linkType: UInt32 = 1, to path: String) throws {
        var out: [UInt8] = []
        func le32(_ v: UInt32) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        func le16(_ v: UInt16) { out += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        le32(0xA1B2_C3D4); le16(2); le16(4); le32(0); le32(0); le32(262_144); le32(linkType)
        for (i, frame) in frames.enumerated() {
            le32(1_700_000_000 + UInt32(i / 1000)); le32(UInt32(i % 1000) * 1000)
            le32(UInt32(frame.count)); le32(UInt32(frame.count))
            out += frame
        }
        try Data(out).write(to: URL(fileURLWithPath: path))
    }
}

/// A small deterministic generator (SplitMix64) so generated captures are the same every run.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
