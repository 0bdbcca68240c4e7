#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// How a VXLAN port picks the outer UDP source port.
public enum VXLANSourcePort: Sendable, Hashable {
    /// The same port for every packet.
    case fixed(UInt16)
    /// 49152 + (the inner flow's symmetric hash mod 16384), as RFC 7348 suggests: a flow keeps
    /// one source port (both directions share it) and flows spread over ECMP paths.
    case flowHash
}

/// Settings of a `VXLANPort`; maps onto a `kind: vxlan` port in the config.
public struct VXLANPortSettings: Sendable, Hashable {
    /// Where the outer packets go (IPv4 or IPv6).
    public var collector: IPAddress
    /// Outer UDP destination port (default 4789).
    public var destinationPort: UInt16
    /// VXLAN network identifier, 24 bits.
    public var vni: UInt32
    public var sourcePort: VXLANSourcePort

    public init(collector: IPAddress, destinationPort: UInt16 = TunnelFraming.vxlanPort, vni: UInt32,
                sourcePort: VXLANSourcePort = .flowHash) {
        self.collector = collector
        self.destinationPort = destinationPort
        self.vni = vni
        self.sourcePort = sourcePort
    }
}

/// Sends every frame to a remote collector inside VXLAN (RFC 7348): outer IP, UDP to the
/// collector's port, the 8-byte VXLAN header with the port's VNI, then the frame unchanged.
///
/// Non-blocking: a send the kernel cannot take now (full buffer, no route) drops that packet
/// with a `PortWriteError`. Only Ethernet frames can be carried (others: EINVAL).
public final class VXLANPort: Port {
    public let name: String
    public let settings: VXLANPortSettings
    private let sender: TunnelSender

    public init(name: String, settings: VXLANPortSettings) {
        self.name = name
        self.settings = settings
        // Over IPv6 the UDP checksum is mandatory; the kernel fills it at offset 6.
        sender = TunnelSender(portName: name, collector: settings.collector, ipProtocol: Int32(IPPROTO_UDP),
                              checksumOffset: settings.collector.isIPv4 ? nil : 6)
    }

    /// Packets handed to the port so far (sent or failed): the port's packet sequence.
    /// Readable from any thread.
    public var packetSequence: UInt64? { sender.numbered.value }
    /// Outer packets the kernel accepted. Readable from any thread.
    public var packetsSent: UInt64 { sender.sent.value }

    public var egress: PortEgress? { sender.egress(destinationPort: settings.destinationPort) }

    public func open(sources: [SourceDescription]) throws {
        try sender.open()
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        _ = sender.takeSequenceNumber()
        try NetworkSocket.checkEthernet(packet)
        let sourcePort: UInt16
        switch settings.sourcePort {
        case .fixed(let port):
            sourcePort = port
        case .flowHash:
            var decoded = DecodedPacket()
            PacketDecoder.decode(packet.bytes, linkType: .ethernet, into: &decoded)
            sourcePort = 49152 | UInt16(truncatingIfNeeded: FlowKey.make(decoded).key.symmetricHash & 0x3FFF)
        }
        let length = TunnelFraming.vxlan(into: sender.header, sourcePort: sourcePort, destinationPort: settings.destinationPort,
                                         vni: settings.vni, frameLength: packet.bytes.count)
        try sender.send(headerLength: length, frame: packet.bytes)
    }

    public func flush() throws(PortWriteError) {}
    public func tick(wallNanos: Int64) throws(PortWriteError) {}
    public func close() throws { sender.close() }
}
