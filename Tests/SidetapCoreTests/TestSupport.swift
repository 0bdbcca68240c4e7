import SidetapCore
import SidetapTestKit

/// Parses an address that the test itself spells (a typo is a test bug, so trap).
func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

/// Decodes bytes with a link type.
func decode(_ bytes: [UInt8], _ linkType: LinkType) -> DecodedPacket {
    var packet = DecodedPacket()
    bytes.withUnsafeBytes { PacketDecoder.decode($0, linkType: linkType, into: &packet) }
    return packet
}

/// A TCP/IPv4 frame from 10.0.1.5:40000 to 10.0.2.9:80 with the given link layer.
func tcpFrame(
    link: FrameLink = .ethernet(), source: String = "10.0.1.5", destination: String = "10.0.2.9",
    sourcePort: UInt16 = 40000, destinationPort: UInt16 = 80, flags: TCPFlags = [.ack], payload: [UInt8] = []
) -> BuiltFrame {
    FrameBuilder(
        link: link,
        network: .ipv4(IPv4Header(source: ip(source), destination: ip(destination))),
        transport: .tcp(TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort, flags: flags)),
        payload: payload
    ).build()
}
