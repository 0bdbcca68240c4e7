import SidetapCore
import SidetapTestKit
import Testing

@Suite("Decode: TCP, UDP, ICMP")
struct TransportDecodeTests {
    @Test func tcpFieldsAndOptions() {
        let frame = FrameBuilder(
            link: .ethernet(tags: [.dot1Q(300)]),
            network: .ipv4(IPv4Header(source: ip("10.0.2.9"), destination: ip("10.0.1.5"))),
            transport: .tcp(TCPHeader(
                sourcePort: 5432, destinationPort: 41000, sequence: 0xDEAD_BEEF, acknowledgment: 0x0102_0304,
                flags: [.syn, .ack, .ece, .cwr, .ns], window: 29200, urgentPointer: 0,
                options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 1, echoReply: 2), .noOperation, .windowScale(7)])),
            payload: Array("hello".utf8)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.hasTCP)
        #expect(packet.sourcePort == 5432 && packet.destinationPort == 41000)
        #expect(packet.tcpSequence == 0xDEAD_BEEF)
        #expect(packet.tcpAcknowledgment == 0x0102_0304)
        #expect(packet.tcpWindow == 29200)
        #expect(packet.tcpFlags == [.syn, .ack, .ece, .cwr, .ns])
        #expect(packet.payloadOffset == packet.transportOffset + 40)
        #expect(Array(frame.bytes[packet.payloadOffset..<(packet.payloadOffset + 5)]) == Array("hello".utf8))
        let view = frame.bytes.withUnsafeBytes { TCPView(UnsafeRawBufferPointer(rebasing: $0[packet.transportOffset...]))! }
        #expect(view.headerLength == 40)
        #expect(frame.bytes[packet.transportOffset + 20] == 2)       // MSS option first
    }

    @Test(arguments: [TCPFlags.fin, .syn, .rst, .psh, .ack, .urg, [.fin, .ack], [.rst, .ack], [.psh, .ack]])
    func eachTCPFlag(flags: TCPFlags) {
        #expect(tcpFrame(flags: flags).decoded().tcpFlags == flags)
    }

    @Test func udpOverIPv4AndIPv6() {
        let v4 = FrameBuilder(
            network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.0.0.53"))),
            transport: .udp(sourcePort: 40001, destinationPort: 53), payload: Array(repeating: 7, count: 30)
        ).build()
        let p4 = v4.decoded()
        #expect(p4.stop.isComplete && p4.hasUDP)
        #expect(p4.sourcePort == 40001 && p4.destinationPort == 53)
        #expect(p4.payloadOffset == 42)
        let udp = v4.bytes.withUnsafeBytes { UDPView(UnsafeRawBufferPointer(rebasing: $0[34...]))! }
        #expect(udp.length == 38)
        let v6 = FrameBuilder(
            network: .ipv6(IPv6Header(source: ip("fd00:1::5"), destination: ip("fd00::53"))),
            transport: .udp(sourcePort: 40001, destinationPort: 53)
        ).build()
        let p6 = v6.decoded()
        #expect(p6.stop.isComplete && p6.hasUDP && p6.ipVersion == 6)
    }

    @Test func udpLengthBelowHeaderIsMalformed() {
        var frame = FrameBuilder(
            network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.0.0.53"))),
            transport: .udp(sourcePort: 1, destinationPort: 2)
        ).build()
        frame.bytes[34 + 5] = 4
        let packet = frame.decoded()
        #expect(packet.stop.reason == .malformed)
        #expect(packet.stop.layer == .udp)
    }

    @Test func icmpEcho() {
        for reply in [false, true] {
            let frame = FrameBuilder(
                network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.99.0.1"))),
                transport: .icmpEcho(reply: reply, identifier: 0x4242, sequence: 3), payload: Array(repeating: 0x10, count: 56)
            ).build()
            let packet = frame.decoded()
            #expect(packet.stop.isComplete)
            #expect(packet.ipProtocol == IPProtocolNumber.icmp)
            #expect(packet.icmpType == (reply ? 0 : 8))
            #expect(packet.icmpCode == 0)
            #expect(packet.sourcePort == 0 && packet.destinationPort == 0)
            let view = frame.bytes.withUnsafeBytes { ICMPView(UnsafeRawBufferPointer(rebasing: $0[34...]))! }
            #expect(view.identifier == 0x4242)
            #expect(view.sequenceNumber == 3)
            let sum = frame.bytes.withUnsafeBytes { InternetChecksum.compute(UnsafeRawBufferPointer(rebasing: $0[34..<frame.networkEnd])) }
            #expect(sum == 0)
        }
    }

    @Test func icmpv6Echo() {
        let frame = FrameBuilder(
            network: .ipv6(IPv6Header(source: ip("fd00:1::5"), destination: ip("fd00:99::1"))),
            transport: .icmpv6Echo(reply: true, identifier: 9, sequence: 10), payload: Array(repeating: 1, count: 8)
        ).build()
        let packet = frame.decoded()
        #expect(packet.stop.isComplete)
        #expect(packet.ipProtocol == IPProtocolNumber.icmpv6)
        #expect(packet.icmpType == 129)
        #expect(packet.payloadOffset == 54 + 8)
    }

    @Test func icmpShorterThanEightBytesIsTruncatedPayload() {
        var bytes = FrameBuilder(
            link: .rawIPv4,
            network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.99.0.1"))),
            transport: .icmpEcho()
        ).build().bytes
        bytes.removeLast(3)                 // keep type, code, checksum, one byte
        let packet = decode(bytes, .ipv4)
        #expect(packet.icmpType == 8)
        #expect(packet.stop.reason == .truncated)
    }

    @Test func sctpPortsAreRead() {
        let frame = FrameBuilder(
            network: .ipv4(IPv4Header(source: ip("10.0.1.5"), destination: ip("10.0.2.5"))),
            transport: .other(protocolNumber: IPProtocolNumber.sctp),
            payload: [0x0B, 0x59, 0x0B, 0x5A] + Array(repeating: 0, count: 8)
        ).build()
        let packet = frame.decoded()
        #expect(packet.sourcePort == 2905 && packet.destinationPort == 2906)
        #expect(packet.hasPorts)
        #expect(packet.stop.reason == .unsupported)
    }
}
