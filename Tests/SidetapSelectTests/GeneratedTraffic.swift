import Foundation

/// Captures generated in the test: conversations over Ethernet with IPv4/IPv6, TCP (handshake,
/// data, close), UDP (DNS and other), ICMP and ICMPv6 echo, ARP; the "mixed" capture adds VLAN
/// and QinQ tags, IPv6 hop-by-hop headers and IPv4 fragments.
enum GeneratedTraffic {
    struct Options {
        var seed: UInt64
        var conversations: Int
        var vlans: Bool
        var extensionHeaders: Bool
        var fragments: Bool
    }

    /// Plain traffic: no VLAN tags, no IPv6 extension headers, no fragments.
    static let plainPath: String = write("plain", Options(seed: 7, conversations: 70, vlans: false, extensionHeaders: false, fragments: false))
    /// Everything, including VLAN/QinQ tags, hop-by-hop headers and fragments.
    static let mixedPath: String = write("mixed", Options(seed: 11, conversations: 90, vlans: true, extensionHeaders: true, fragments: true))

    static let directory: String = {
        let path = NSTemporaryDirectory() + "sidetap-select-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func write(_ name: String, _ options: Options) -> String {
        let path = directory + "/\(name).pcap"
        do {
            try PcapFileWriter.write(frames(options), to: path)
        } catch {
            fatalError("cannot write \(path): \(error)")
        }
        return path
    }

    static let clients4: [UInt32] = [
        FrameBuilder.v4(10, 1, 0, 5), FrameBuilder.v4(10, 1, 0, 6), FrameBuilder.v4(10, 2, 3, 4),
        FrameBuilder.v4(192, 168, 1, 20), FrameBuilder.v4(172, 16, 5, 9), FrameBuilder.v4(10, 9, 9, 9),
    ]
    static let servers4: [UInt32] = [
        FrameBuilder.v4(10, 0, 0, 10), FrameBuilder.v4(10, 0, 0, 53), FrameBuilder.v4(8, 8, 8, 8),
        FrameBuilder.v4(93, 184, 216, 34), FrameBuilder.v4(198, 51, 100, 7), FrameBuilder.v4(10, 3, 0, 1),
    ]
    static let clients6: [[UInt8]] = [
        FrameBuilder.v6([0x2001, 0xdb8, 1, 0, 0, 0, 0, 5]), FrameBuilder.v6([0x2001, 0xdb8, 1, 0, 0, 0, 0, 6]),
        FrameBuilder.v6([0xfd00, 0, 0, 0, 0, 0, 0, 0x21]),
    ]
    static let servers6: [[UInt8]] = [
        FrameBuilder.v6([0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x80]), FrameBuilder.v6([0x2001, 0x4860, 0, 0, 0, 0, 0, 0x8888]),
        FrameBuilder.v6([0xfd00, 0, 0, 0, 0, 0, 0, 0x53]),
    ]
    static let tcpPorts: [UInt16] = [80, 443, 22, 853, 53, 8080, 3306, 25]

    static func frames(_ options: Options) -> [[UInt8]] {
        var random = TestRandom(state: options.seed)
        var conversations: [[[UInt8]]] = []
        for c in 0..<options.conversations {
            let clientMAC: UInt64 = 0x0200_0000_0000 | UInt64(c + 1)
            let serverMAC: UInt64 = 0x0200_0000_FF00 | UInt64(random.below(4))
            var vlans: [UInt16] = []
            if options.vlans {
                switch random.below(20) {
                case 0..<4: vlans = [100]
                case 4..<6: vlans = [200]
                case 6: vlans = [300, 10]
                default: break
                }
            }
            let v6 = random.below(4) == 0
            let hopByHop = v6 && options.extensionHeaders && random.below(3) == 0
            let clientPort = UInt16(20_000 + random.below(40_000))
            var packets: [[UInt8]] = []
            // (payload from client?, transport bytes, protocol)
            var exchange: [(Bool, [UInt8], UInt8)] = []
            switch random.below(10) {
            case 0..<6:
                let serverPort = random.pick(tcpPorts)
                let steps: [(Bool, UInt16, Int)] = [
                    (true, 0x002, 0), (false, 0x012, 0), (true, 0x010, 0), (true, 0x018, 40 + random.below(300)),
                    (false, 0x018, 100 + random.below(900)), (true, 0x011, 0), (false, 0x011, 0), (true, 0x010, 0),
                ]
                for (fromClient, flags, length) in steps {
                    let payload = [UInt8](repeating: 0x41, count: length)
                    let segment = fromClient
                        ? FrameBuilder.tcp(sourcePort: clientPort, destinationPort: serverPort, flags: flags, payload: payload)
                        : FrameBuilder.tcp(sourcePort: serverPort, destinationPort: clientPort, flags: flags, payload: payload)
                    exchange.append((fromClient, segment, 6))
                }
                if random.below(8) == 0 {   // an ECN-setup SYN and a reset
                    exchange.append((true, FrameBuilder.tcp(sourcePort: clientPort &+ 1, destinationPort: serverPort, flags: 0x0C2), 6))
                    exchange.append((false, FrameBuilder.tcp(sourcePort: serverPort, destinationPort: clientPort &+ 1, flags: 0x014), 6))
                }
            case 6..<8:
                let serverPort: UInt16 = random.below(2) == 0 ? 53 : UInt16(1024 + random.below(5000))
                let query = [UInt8](repeating: 0x11, count: 30 + random.below(40))
                let answer = [UInt8](repeating: 0x22, count: 60 + random.below(400))
                exchange.append((true, FrameBuilder.udp(sourcePort: clientPort, destinationPort: serverPort, payload: query), 17))
                exchange.append((false, FrameBuilder.udp(sourcePort: serverPort, destinationPort: clientPort, payload: answer), 17))
            default:
                let (request, reply): (UInt8, UInt8) = v6 ? (128, 129) : (8, 0)
                let proto: UInt8 = v6 ? 58 : 1
                for _ in 0..<(1 + random.below(3)) {
                    exchange.append((true, FrameBuilder.icmp(type: request, payload: [UInt8](repeating: 7, count: 56)), proto))
                    exchange.append((false, FrameBuilder.icmp(type: reply, payload: [UInt8](repeating: 7, count: 56)), proto))
                }
            }
            if v6 {
                let client = random.pick(clients6), server = random.pick(servers6)
                for (fromClient, transport, proto) in exchange {
                    let ip = fromClient
                        ? FrameBuilder.ipv6(source: client, destination: server, nextHeader: proto, payload: transport, hopByHop: hopByHop)
                        : FrameBuilder.ipv6(source: server, destination: client, nextHeader: proto, payload: transport, hopByHop: hopByHop)
                    packets.append(FrameBuilder.ethernet(destination: fromClient ? serverMAC : clientMAC, source: fromClient ? clientMAC : serverMAC,
                                                         vlans: vlans, etherType: 0x86DD, payload: ip))
                }
            } else {
                let client = random.pick(clients4), server = random.pick(servers4)
                for (i, (fromClient, transport, proto)) in exchange.enumerated() {
                    let ip = fromClient
                        ? FrameBuilder.ipv4(source: client, destination: server, protocolNumber: proto, payload: transport, identification: UInt16(i + 1))
                        : FrameBuilder.ipv4(source: server, destination: client, protocolNumber: proto, payload: transport, identification: UInt16(i + 1))
                    packets.append(FrameBuilder.ethernet(destination: fromClient ? serverMAC : clientMAC, source: fromClient ? clientMAC : serverMAC,
                                                         vlans: vlans, etherType: 0x0800, payload: ip))
                }
                if random.below(6) == 0 {
                    packets.insert(FrameBuilder.ethernet(destination: 0xFFFF_FFFF_FFFF, source: clientMAC, vlans: vlans, etherType: 0x0806,
                                                         payload: FrameBuilder.arp(senderMAC: clientMAC, senderIP: client, targetIP: server)), at: 0)
                }
                if options.fragments && random.below(5) == 0 {
                    // A UDP datagram in two fragments: the first carries the UDP header.
                    let datagram = FrameBuilder.udp(sourcePort: clientPort, destinationPort: 53, payload: [UInt8](repeating: 0x33, count: 1400))
                    let first = Array(datagram[0..<1000]), rest = Array(datagram[1000...])
                    packets.append(FrameBuilder.ethernet(destination: serverMAC, source: clientMAC, vlans: vlans, etherType: 0x0800,
                                                         payload: FrameBuilder.ipv4(source: client, destination: server, protocolNumber: 17, payload: first,
                                                                                    identification: 0x4242, moreFragments: true)))
                    packets.append(FrameBuilder.ethernet(destination: serverMAC, source: clientMAC, vlans: vlans, etherType: 0x0800,
                                                         payload: FrameBuilder.ipv4(source: client, destination: server, protocolNumber: 17, payload: rest,
                                                                                    identification: 0x4242, fragmentOffset: 1000)))
                }
            }
            conversations.append(packets)
        }
        // Interleave the conversations, keeping each one's order.
        var out: [[UInt8]] = []
        var cursors = Array(repeating: 0, count: conversations.count)
        var open = Array(conversations.indices)
        while !open.isEmpty {
            let slot = random.below(open.count)
            let c = open[slot]
            out.append(conversations[c][cursors[c]])
            cursors[c] += 1
            if cursors[c] == conversations[c].count { open.remove(at: slot) }
        }
        return out
    }
}
