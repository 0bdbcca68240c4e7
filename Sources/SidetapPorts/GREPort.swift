#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// Settings of a `GREPort`; maps onto a `kind: gre` port in the config.
public struct GREPortSettings: Sendable, Hashable {
    /// Where the outer packets go (IPv4 or IPv6).
    public var collector: IPAddress
    /// Optional GRE key (RFC 2890), e.g. to tell ports apart at one collector.
    public var key: UInt32?
    /// Carry the port's packet sequence in the GRE sequence-number field (RFC 2890).
    public var sequenceNumbers: Bool

    public init(collector: IPAddress, key: UInt32? = nil, sequenceNumbers: Bool = false) {
        self.collector = collector
        self.key = key
        self.sequenceNumbers = sequenceNumbers
    }
}

/// Sends every frame to a remote collector inside GRE (RFC 2784/2890) with protocol type
/// 0x6558 (transparent Ethernet bridging), as Linux `gretap` devices and most sensors take it.
/// A raw IPPROTO_GRE socket: the kernel adds the outer IP header.
///
/// Non-blocking: a send the kernel cannot take now drops that packet with a
/// `PortWriteError`. Only Ethernet frames can be carried (others: EINVAL).
public final class GREPort: Port {
    public let name: String
    public let settings: GREPortSettings
    private let sender: TunnelSender

    public init(name: String, settings: GREPortSettings) {
        self.name = name
        self.settings = settings
        sender = TunnelSender(portName: name, collector: settings.collector, ipProtocol: Int32(IPPROTO_GRE))
    }

    /// Packets handed to the port so far (sent or failed): the port's packet sequence; with
    /// `sequenceNumbers` the GRE header of packet n carries n mod 2³² (from 0). Readable from
    /// any thread.
    public var packetSequence: UInt64? { sender.numbered.value }
    /// Outer packets the kernel accepted. Readable from any thread.
    public var packetsSent: UInt64 { sender.sent.value }

    public var egress: PortEgress? { sender.egress() }

    public func open(sources: [SourceDescription]) throws {
        try sender.open()
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        let number = sender.takeSequenceNumber()
        try NetworkSocket.checkEthernet(packet)
        let length = TunnelFraming.gre(into: sender.header, protocolType: TunnelFraming.transparentEthernetBridging,
                                       key: settings.key, sequence: settings.sequenceNumbers ? number : nil)
        try sender.send(headerLength: length, frame: packet.bytes)
    }

    public func flush() throws(PortWriteError) {}
    public func tick(wallNanos: Int64) throws(PortWriteError) {}
    public func close() throws { sender.close() }
}
