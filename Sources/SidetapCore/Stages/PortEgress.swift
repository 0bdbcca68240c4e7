/// What a port's own output looks like on the wire, so the engine never takes it in again.
///
/// A port that writes onto an interface (a NIC or a TAP device) names that interface: a
/// source capturing it would see the port's output and is refused. A tunnel port names its
/// outer packets (`TunnelTraffic`): a source that sees them (the host's uplink, `any`) drops
/// them before selection and counts them as "own output".
public struct PortEgress: Sendable, Hashable, CustomStringConvertible {
    /// The port's name.
    public var port: String
    /// The interface the port writes frames onto (interface and TAP ports).
    public var interface: String?
    /// The outer packets of a tunnel port.
    public var tunnel: TunnelTraffic?
    /// The TCP stream a socket port serves to its readers.
    public var served: ServedTraffic?

    public init(port: String, interface: String? = nil, tunnel: TunnelTraffic? = nil, served: ServedTraffic? = nil) {
        self.port = port
        self.interface = interface
        self.tunnel = tunnel
        self.served = served
    }

    public var description: String {
        var parts: [String] = []
        if let interface { parts.append("interface \(interface)") }
        if let tunnel { parts.append("\(tunnel)") }
        if let served { parts.append("\(served)") }
        return "port \(port): " + (parts.isEmpty ? "nothing" : parts.joined(separator: ", "))
    }
}

/// The outer packets a tunnel port sends: one IP protocol to one collector address and, for
/// UDP, one destination port.
public struct TunnelTraffic: Sendable, Hashable, CustomStringConvertible {
    /// IP protocol of the outer packets (17 UDP for VXLAN, 47 GRE for GRE and ERSPAN).
    public var ipProtocol: UInt8
    /// The collector's address (the outer destination).
    public var collector: IPAddress
    /// Outer destination port (UDP), or 0 when the protocol has none (GRE).
    public var destinationPort: UInt16

    public init(ipProtocol: UInt8, collector: IPAddress, destinationPort: UInt16 = 0) {
        self.ipProtocol = ipProtocol
        self.collector = collector
        self.destinationPort = destinationPort
    }

    /// True when a decoded packet is one of these outer packets. IP fragments to the
    /// collector with the protocol match whatever their ports (later fragments carry none).
    @inlinable
    public func matches(_ packet: DecodedPacket) -> Bool {
        packet.ipProtocol == ipProtocol && packet.ipVersion != 0 && packet.destination == collector
            && (destinationPort == 0 || packet.isFragment || packet.destinationPort == destinationPort)
    }

    public var description: String {
        let name = ipProtocol == 17 ? "udp" : ipProtocol == 47 ? "gre" : "ip proto \(ipProtocol)"
        return destinationPort == 0 ? "\(name) to \(collector)" : "\(name) to \(collector) port \(destinationPort)"
    }
}

/// The TCP connections a socket port serves its stream on: both directions of every connection
/// to the listening address and port (the stream itself and the readers' ACKs). An unspecified
/// listening address (0.0.0.0, ::) matches any local address.
public struct ServedTraffic: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// True when a decoded packet belongs to one of the served connections.
    @inlinable
    public func matches(_ packet: DecodedPacket) -> Bool {
        guard packet.ipProtocol == 6, packet.ipVersion != 0, !packet.isFragment else { return false }
        let any = address == .zero || address == IPAddress(ipv4: 0)
        return (packet.sourcePort == port && (any || packet.source == address))
            || (packet.destinationPort == port && (any || packet.destination == address))
    }

    public var description: String { "tcp stream served on \(address):\(port)" }
}

/// A port's own output as the capture side recognises it: tunnel packets or a served stream.
public enum OwnTraffic: Sendable, Hashable {
    case tunnel(TunnelTraffic)
    case served(ServedTraffic)

    @inlinable
    public func matches(_ packet: DecodedPacket) -> Bool {
        switch self {
        case .tunnel(let traffic): return traffic.matches(packet)
        case .served(let traffic): return traffic.matches(packet)
        }
    }
}
