import SidetapCore
import SidetapSelect

/// Selects hand-built frames one at a time.
final class Harness {
    static let sources = [
        SourceDescription(name: "vnet0", guest: "web1", linkType: .ethernet, snaplen: 65535, origin: "vnet0"),
        SourceDescription(name: "vnet1", guest: "db1", linkType: .ethernet, snaplen: 65535, origin: "vnet1"),
        SourceDescription(name: "vnet2", guest: "web1", linkType: .ethernet, snaplen: 65535, origin: "vnet2"),
    ]
    let rules: CompiledRuleSet
    let selector: Selector

    init(_ ports: [PortRules], flowCacheSize: Int = 1024) throws {
        rules = try CompiledRuleSet(ports: ports, sources: Self.sources)
        selector = Selector(rules, flowCacheSize: flowCacheSize)
    }

    convenience init(_ text: String, flowCacheSize: Int = 1024) throws {
        try self.init([Support.port("p", text)], flowCacheSize: flowCacheSize)
    }

    func select(_ frame: [UInt8], sourceIndex: UInt16 = 0, direction: PacketDirection = .unknown) -> PortSet {
        frame.withUnsafeBytes { bytes in
            let packet = CapturedPacket(bytes: bytes, wireLength: UInt32(bytes.count), timestampNanos: 0,
                                        sourceIndex: sourceIndex, direction: direction)
            var decoded = DecodedPacket()
            PacketDecoder.decode(bytes, linkType: .ethernet, into: &decoded)
            let (key, reversed) = FlowKey.make(decoded)
            let chosen = selector.select(packet, decoded: decoded, flow: key, reversed: reversed, hash: key.symmetricHash)
            selector.publishCounters()
            return chosen
        }
    }

    /// True when port 0 takes the frame.
    func accepts(_ frame: [UInt8], sourceIndex: UInt16 = 0, direction: PacketDirection = .unknown) -> Bool {
        select(frame, sourceIndex: sourceIndex, direction: direction).contains(0)
    }
}

/// Short frame constructors for the semantics tests.
enum Frames {
    static let clientMAC: UInt64 = 0x0200_0000_0001
    static let serverMAC: UInt64 = 0x0200_0000_0002

    static func tcp4(_ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16,
                     flags: UInt16 = 0x010, vlans: [UInt16] = [], payload: Int = 0) -> [UInt8] {
        let segment = FrameBuilder.tcp(sourcePort: sport, destinationPort: dport, flags: flags, payload: [UInt8](repeating: 1, count: payload))
        return FrameBuilder.ethernet(destination: serverMAC, source: clientMAC, vlans: vlans, etherType: 0x0800,
                                     payload: FrameBuilder.ipv4(source: v4(source), destination: v4(destination), protocolNumber: 6, payload: segment))
    }

    static func udp4(_ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16, vlans: [UInt16] = [], payload: Int = 20) -> [UInt8] {
        let datagram = FrameBuilder.udp(sourcePort: sport, destinationPort: dport, payload: [UInt8](repeating: 2, count: payload))
        return FrameBuilder.ethernet(destination: serverMAC, source: clientMAC, vlans: vlans, etherType: 0x0800,
                                     payload: FrameBuilder.ipv4(source: v4(source), destination: v4(destination), protocolNumber: 17, payload: datagram))
    }

    static func icmp4(_ source: String, _ destination: String) -> [UInt8] {
        FrameBuilder.ethernet(destination: serverMAC, source: clientMAC, etherType: 0x0800,
                              payload: FrameBuilder.ipv4(source: v4(source), destination: v4(destination), protocolNumber: 1, payload: FrameBuilder.icmp(type: 8)))
    }

    static func tcp6(_ source: [UInt16], _ sport: UInt16, _ destination: [UInt16], _ dport: UInt16, flags: UInt16 = 0x010) -> [UInt8] {
        let segment = FrameBuilder.tcp(sourcePort: sport, destinationPort: dport, flags: flags)
        return FrameBuilder.ethernet(destination: serverMAC, source: clientMAC, etherType: 0x86DD,
                                     payload: FrameBuilder.ipv6(source: FrameBuilder.v6(source), destination: FrameBuilder.v6(destination), nextHeader: 6, payload: segment))
    }

    static func arp() -> [UInt8] {
        FrameBuilder.ethernet(destination: 0xFFFF_FFFF_FFFF, source: clientMAC, etherType: 0x0806,
                              payload: FrameBuilder.arp(senderMAC: clientMAC, senderIP: v4("10.0.0.1"), targetIP: v4("10.0.0.2")))
    }

    static func v4(_ text: String) -> UInt32 {
        let parts = text.split(separator: ".").map { UInt32($0)! }
        return parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
    }
}
