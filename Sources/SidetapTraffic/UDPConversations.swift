import SidetapCore

/// A DNS lookup: one query to the site resolver, one answer.
struct DNSExchange {
    var flow: FlowContext
    let id: UInt16
    let name: String
    let type: UInt16
    let edns: Bool
    var sent = 0

    init(_ random: inout SeededRandom, ipv6: Bool, vlan: UInt16) {
        let client = Endpoint.guest(&random, subnet: random.below(2) == 0 ? AddressPlan.guestSubnetA : AddressPlan.guestSubnetB,
                                    port: Endpoint.ephemeralPort(&random), ipv6: ipv6)
        let server = Endpoint.inside(subnet: 0, host: UInt8(AddressPlan.resolverHost), port: 53, ipv6: ipv6)
        flow = FlowContext(client: client, server: server, vlan: vlan, ipv6: ipv6)
        id = UInt16(truncatingIfNeeded: random.next())
        name = DNSMessage.names[random.below(DNSMessage.names.count)]
        type = random.below(100) < 70 ? 1 : 28
        edns = random.below(100) < 60
    }

    mutating func step(_ sink: inout FrameSink) -> Bool {
        let fromClient = sent == 0
        let ipStart = sink.begin(flow, fromClient: fromClient, protocolNumber: IPProtocolNumber.udp, dontFragment: false)
        let udp = sink.encoder.beginUDP(
            sourcePort: fromClient ? flow.client.port : 53, destinationPort: fromClient ? 53 : flow.client.port)
        if fromClient {
            DNSMessage.writeQuery(into: &sink.encoder, id: id, name: name, type: type, edns: edns)
        } else {
            let nxdomain = sink.random.below(100) < 6
            let cname = sink.random.below(100) < 30
            DNSMessage.writeResponse(
                into: &sink.encoder, id: id, name: name, type: type, edns: edns, nxdomain: nxdomain,
                cname: cname, count: sink.random.inRange(1...4), random: &sink.random)
        }
        sink.finish(flow, fromClient: fromClient, ipStart: ipStart, transportStart: udp, kind: .udp)
        sent += 1
        return sent == 2
    }
}

/// An NTP (v4) client request to an outside server and its reply.
struct NTPExchange {
    var flow: FlowContext
    var sent = 0
    var clientTransmit: UInt64 = 0
    /// Seconds between 1900 (NTP era 0) and 1970.
    static let unixToNTP: Int64 = 2_208_988_800

    init(_ random: inout SeededRandom, ipv6: Bool, vlan: UInt16) {
        let client = Endpoint.guest(&random, subnet: random.below(2) == 0 ? AddressPlan.guestSubnetA : AddressPlan.guestSubnetB,
                                    port: 123, ipv6: ipv6)
        var server = Endpoint.outside(&random, port: 123, ipv6: ipv6)
        server.address = AddressPlan.outside(0, 123, ipv6: ipv6)
        flow = FlowContext(client: client, server: server, vlan: vlan, ipv6: ipv6)
    }

    static func ntpTime(_ nanos: Int64) -> UInt64 {
        let seconds = nanos / 1_000_000_000 + unixToNTP
        let fraction = (UInt64(nanos % 1_000_000_000) << 32) / 1_000_000_000
        return UInt64(seconds) << 32 | fraction
    }

    mutating func step(_ sink: inout FrameSink) -> Bool {
        let fromClient = sent == 0
        let ipStart = sink.begin(flow, fromClient: fromClient, protocolNumber: IPProtocolNumber.udp, dontFragment: false)
        let udp = sink.encoder.beginUDP(sourcePort: 123, destinationPort: 123)
        let now = Self.ntpTime(sink.nowNanos)
        if fromClient {
            clientTransmit = now
            sink.encoder.appendU8(0x23)                    // LI 0, version 4, mode 3 (client)
            sink.encoder.appendU8(0)
            sink.encoder.appendU8(6)
            sink.encoder.appendU8(0xEC)                    // precision 2^-20
            sink.encoder.appendU32(0); sink.encoder.appendU32(0); sink.encoder.appendU32(0)
            sink.encoder.appendU64(0); sink.encoder.appendU64(0); sink.encoder.appendU64(0)
            sink.encoder.appendU64(now)
        } else {
            sink.encoder.appendU8(0x24)                    // mode 4 (server)
            sink.encoder.appendU8(2)                       // stratum 2
            sink.encoder.appendU8(6)
            sink.encoder.appendU8(0xE9)
            sink.encoder.appendU32(0x0000_0A3C)            // root delay
            sink.encoder.appendU32(0x0000_0F2B)            // root dispersion
            sink.encoder.appendU32(0x0A63_0001)            // reference ID: its upstream
            sink.encoder.appendU64(now &- (64 << 32))      // reference time
            sink.encoder.appendU64(clientTransmit)         // origin
            sink.encoder.appendU64(now &- 0x0100_0000)     // receive
            sink.encoder.appendU64(now)                    // transmit
        }
        sink.finish(flow, fromClient: fromClient, ipStart: ipStart, transportStart: udp, kind: .udp)
        sent += 1
        return sent == 2
    }
}

/// A guest sending BSD syslog lines to the collector in the other guest subnet.
struct SyslogStream {
    var flow: FlowContext
    var left: Int
    let hostIndex: Int

    static let hosts = ["web01", "web02", "app03", "db01", "cache02"]
    static let messages = [
        "nginx[812]: 10.0.1.23 - - \"GET /health HTTP/1.1\" 200 2",
        "sshd[1422]: Accepted publickey for deploy from 10.0.1.5 port 51122 ssh2",
        "kernel: nf_conntrack: table full, dropping packet",
        "systemd[1]: Started Daily apt download activities.",
        "postgres[977]: LOG:  checkpoint complete: wrote 112 buffers (0.7%)",
        "cron[3011]: (root) CMD (run-parts /etc/cron.hourly)",
    ]
    init(_ random: inout SeededRandom, ipv6: Bool, vlan: UInt16) {
        let client = Endpoint.guest(&random, subnet: AddressPlan.guestSubnetA, port: Endpoint.ephemeralPort(&random), ipv6: ipv6)
        let server = Endpoint.inside(subnet: AddressPlan.guestSubnetB, host: 5, port: 514, ipv6: ipv6)
        flow = FlowContext(client: client, server: server, vlan: vlan, ipv6: ipv6)
        left = random.inRange(1...6)
        hostIndex = random.below(Self.hosts.count)
    }

    mutating func step(_ sink: inout FrameSink) -> Bool {
        let ipStart = sink.begin(flow, fromClient: true, protocolNumber: IPProtocolNumber.udp, dontFragment: false)
        let udp = sink.encoder.beginUDP(sourcePort: flow.client.port, destinationPort: 514)
        // "<PRI>Mmm dd hh:mm:ss host message", facility local0..7, severity info..err.
        let priority = (16 + sink.random.below(8)) * 8 + 3 + sink.random.below(4)
        sink.encoder.appendU8(0x3C)
        sink.appendDecimal(priority)
        sink.encoder.appendU8(0x3E)
        let seconds = Int(sink.nowNanos / 1_000_000_000 % 86_400)
        let day = 1 + Int(sink.nowNanos / 1_000_000_000 / 86_400 % 28)
        sink.appendText("Jan ")
        if day < 10 { sink.encoder.appendU8(0x20) }
        sink.appendDecimal(day)
        sink.encoder.appendU8(0x20)
        appendTwoDigits(seconds / 3600, &sink)
        sink.encoder.appendU8(0x3A)
        appendTwoDigits(seconds / 60 % 60, &sink)
        sink.encoder.appendU8(0x3A)
        appendTwoDigits(seconds % 60, &sink)
        sink.encoder.appendU8(0x20)
        sink.appendText(Self.hosts[hostIndex])
        sink.encoder.appendU8(0x20)
        sink.appendText(Self.messages[sink.random.below(Self.messages.count)])
        sink.finish(flow, fromClient: true, ipStart: ipStart, transportStart: udp, kind: .udp)
        left -= 1
        return left == 0
    }

    func appendTwoDigits(_ value: Int, _ sink: inout FrameSink) {
        sink.encoder.appendU8(0x30 + UInt8(value / 10 % 10))
        sink.encoder.appendU8(0x30 + UInt8(value % 10))
    }
}

/// An RTP media stream between even high ports (RFC 3550 header, 20 ms audio or video-sized
/// frames), mostly from a guest to an outside peer, some frames back.
struct UDPStream {
    var flow: FlowContext
    var left: Int
    let frameSize: Int
    let payloadType: UInt8
    var sequence: (UInt16, UInt16)
    var timestamp: (UInt32, UInt32)
    let ssrc: (UInt32, UInt32)

    init(_ random: inout SeededRandom, ipv6: Bool, vlan: UInt16) {
        let client = Endpoint.guest(&random, subnet: random.below(2) == 0 ? AddressPlan.guestSubnetA : AddressPlan.guestSubnetB,
                                    port: UInt16(random.inRange(20000...24999) * 2), ipv6: ipv6)
        let server = Endpoint.outside(&random, port: UInt16(random.inRange(20000...24999) * 2), ipv6: ipv6)
        flow = FlowContext(client: client, server: server, vlan: vlan, ipv6: ipv6)
        left = random.inRange(20...120)
        frameSize = [160, 172, 320, 960, 1200][random.below(5)]
        payloadType = frameSize <= 172 ? 0 : 96
        sequence = (UInt16(truncatingIfNeeded: random.next()), UInt16(truncatingIfNeeded: random.next()))
        timestamp = (UInt32(truncatingIfNeeded: random.next()), UInt32(truncatingIfNeeded: random.next()))
        ssrc = (UInt32(truncatingIfNeeded: random.next()), UInt32(truncatingIfNeeded: random.next()))
    }

    mutating func step(_ sink: inout FrameSink) -> Bool {
        let fromClient = sink.random.below(100) < 85
        let ipStart = sink.begin(flow, fromClient: fromClient, protocolNumber: IPProtocolNumber.udp, dontFragment: false)
        let udp = sink.encoder.beginUDP(
            sourcePort: fromClient ? flow.client.port : flow.server.port,
            destinationPort: fromClient ? flow.server.port : flow.client.port)
        sink.encoder.appendU8(0x80)                 // version 2, no padding/extension/CSRC
        sink.encoder.appendU8(payloadType)
        if fromClient {
            sink.encoder.appendU16(sequence.0); sink.encoder.appendU32(timestamp.0); sink.encoder.appendU32(ssrc.0)
            sequence.0 &+= 1; timestamp.0 &+= 160
            sink.appendPoolBytes(frameSize)
        } else {
            sink.encoder.appendU16(sequence.1); sink.encoder.appendU32(timestamp.1); sink.encoder.appendU32(ssrc.1)
            sequence.1 &+= 1; timestamp.1 &+= 160
            sink.appendPoolBytes(40 + sink.random.below(80))
        }
        sink.finish(flow, fromClient: fromClient, ipStart: ipStart, transportStart: udp, kind: .udp)
        left -= 1
        return left == 0
    }
}

/// `ping`: ICMP or ICMPv6 echo requests and replies with the default 56-byte payload.
struct PingSession {
    var flow: FlowContext
    let identifier: UInt16
    var sequence: UInt16 = 1
    var awaitingReply = false
    var left: Int

    init(_ random: inout SeededRandom, ipv6: Bool, vlan: UInt16) {
        let client = Endpoint.guest(&random, subnet: random.below(2) == 0 ? AddressPlan.guestSubnetA : AddressPlan.guestSubnetB,
                                    port: 0, ipv6: ipv6)
        let server: Endpoint = random.below(2) == 0
            ? .outside(&random, port: 0, ipv6: ipv6)
            : .guest(&random, subnet: AddressPlan.guestSubnetB, port: 0, ipv6: ipv6)
        flow = FlowContext(client: client, server: server, vlan: vlan, ipv6: ipv6)
        identifier = UInt16(random.inRange(1...0xFFFF))
        left = random.inRange(2...10)
    }

    mutating func step(_ sink: inout FrameSink) -> Bool {
        let fromClient = !awaitingReply
        let kind: TransportKind = flow.ipv6 ? .icmpv6 : .icmp
        let ipStart = sink.begin(flow, fromClient: fromClient, protocolNumber: kind.protocolNumber, dontFragment: fromClient)
        let type: UInt8 = flow.ipv6 ? (fromClient ? 128 : 129) : (fromClient ? 8 : 0)
        let icmp = sink.encoder.beginICMP(type: type, code: 0, identifier: identifier, sequence: sequence)
        // ping's payload: an 8-byte timestamp, then bytes 0x10, 0x11, …
        let seconds = sink.nowNanos / 1_000_000_000
        sink.encoder.appendU32(UInt32(truncatingIfNeeded: seconds).byteSwapped)
        sink.encoder.appendU32(UInt32(truncatingIfNeeded: (sink.nowNanos % 1_000_000_000) / 1000).byteSwapped)
        for value in UInt8(0x10)..<UInt8(0x40) { sink.encoder.appendU8(value) }
        sink.finish(flow, fromClient: fromClient, ipStart: ipStart, transportStart: icmp, kind: kind)
        if awaitingReply {
            sequence &+= 1
            left -= 1
        }
        awaitingReply.toggle()
        return left == 0
    }
}
