#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// Settings of an `ERSPANPort`; maps onto a `kind: erspan` port in the config.
public struct ERSPANPortSettings: Sendable, Hashable {
    /// Where the outer packets go (IPv4 or IPv6).
    public var collector: IPAddress
    /// ERSPAN session id, 0–1023 (10 bits); collectors tell mirror sessions apart by it.
    public var session: UInt16
    /// ERSPAN index (20 bits), the source port/direction field; 0 unless set.
    public var index: UInt32

    public init(collector: IPAddress, session: UInt16, index: UInt32 = 0) {
        self.collector = collector
        self.session = session
        self.index = index
    }
}

/// Sends every frame to a remote collector as ERSPAN type II, the format Cisco and VMware
/// mirror sessions use and Linux `erspan` devices read: GRE with the sequence-number bit and
/// protocol 0x88BE, the 8-byte ERSPAN II header, then the frame unchanged.
///
/// The GRE sequence number is the port's packet sequence (from 0), advanced for every packet
/// the port is handed, sent or not, so the collector sees a gap wherever a packet was lost on
/// this side. VLAN and CoS come from the frame's 802.1Q tag (En = 3, tag kept in the frame)
/// or are 0 (En = 0, untagged); T is set for sliced frames. Non-blocking like the other
/// tunnels; only Ethernet frames can be carried (others: EINVAL).
public final class ERSPANPort: Port {
    public let name: String
    public let settings: ERSPANPortSettings
    private let sender: TunnelSender

    public init(name: String, settings: ERSPANPortSettings) {
        self.name = name
        self.settings = settings
        sender = TunnelSender(portName: name, collector: settings.collector, ipProtocol: Int32(IPPROTO_GRE))
    }

    /// Packets handed to the port so far (sent or failed); packet n carries GRE sequence
    /// n mod 2³². Readable from any thread.
    public var packetSequence: UInt64? { sender.numbered.value }
    /// Outer packets the kernel accepted. Readable from any thread.
    public var packetsSent: UInt64 { sender.sent.value }

    public var egress: PortEgress? { sender.egress() }

    public func open(sources: [SourceDescription]) throws {
        guard settings.session <= 1023 else {
            throw PortSetupError.invalidSetting(port: name, reason: "ERSPAN session \(settings.session) is out of range 0–1023")
        }
        try sender.open()
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        let number = sender.takeSequenceNumber()
        try NetworkSocket.checkEthernet(packet)
        let length = TunnelFraming.erspanII(
            into: sender.header, sequence: number, session: settings.session, index: settings.index,
            frame: packet.bytes, truncated: UInt32(packet.bytes.count) < packet.wireLength)
        try sender.send(headerLength: length, frame: packet.bytes)
    }

    public func flush() throws(PortWriteError) {}
    public func tick(wallNanos: Int64) throws(PortWriteError) {}
    public func close() throws { sender.close() }
}
