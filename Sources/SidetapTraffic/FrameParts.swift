import SidetapCore

/// One 802.1Q (TPID 0x8100) or 802.1ad (TPID 0x88A8) tag.
public struct VLANTag: Sendable, Hashable {
    /// VLAN identifier (12 bits).
    public var id: UInt16
    /// Priority code point (3 bits).
    public var priority: UInt8
    /// Drop-eligible indicator.
    public var dropEligible: Bool
    /// Tag protocol identifier.
    public var tpid: UInt16

    public init(id: UInt16, priority: UInt8 = 0, dropEligible: Bool = false, tpid: UInt16 = 0x8100) {
        self.id = id
        self.priority = priority
        self.dropEligible = dropEligible
        self.tpid = tpid
    }

    /// A customer tag (802.1Q, TPID 0x8100).
    public static func dot1Q(_ id: UInt16, priority: UInt8 = 0) -> VLANTag { VLANTag(id: id, priority: priority) }
    /// A service tag (802.1ad, TPID 0x88A8), the outer tag of QinQ.
    public static func dot1ad(_ id: UInt16, priority: UInt8 = 0) -> VLANTag { VLANTag(id: id, priority: priority, tpid: 0x88A8) }
}

/// The link-layer header of a hand-built frame, one per supported link type.
public enum FrameLink: Sendable {
    /// Ethernet II with any number of VLAN tags, outermost first (LINKTYPE_ETHERNET, 1).
    case ethernet(source: UInt64 = 0x02_00_00_00_00_01, destination: UInt64 = 0x02_00_00_00_00_02, tags: [VLANTag] = [])
    /// Raw IP, version from the first nibble (LINKTYPE_RAW, 101).
    case raw
    /// Raw IPv4 (LINKTYPE_IPV4, 228).
    case rawIPv4
    /// Raw IPv6 (LINKTYPE_IPV6, 229).
    case rawIPv6
    /// Linux cooked v1 (113); packet type 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing.
    case linuxSLL(packetType: UInt16 = 0, address: UInt64 = 0x02_00_00_00_00_01)
    /// Linux cooked v2 (276).
    case linuxSLL2(packetType: UInt8 = 0, interfaceIndex: UInt32 = 1, address: UInt64 = 0x02_00_00_00_00_01)
    /// BSD loopback, address family in host (little-endian) order (LINKTYPE_NULL, 0).
    case null
    /// OpenBSD loopback, address family in network order (LINKTYPE_LOOP, 108).
    case loop

    /// The LINKTYPE_ value of captures with this header.
    public var linkType: LinkType {
        switch self {
        case .ethernet: .ethernet
        case .raw: .raw
        case .rawIPv4: .ipv4
        case .rawIPv6: .ipv6
        case .linuxSLL: .linuxSLL
        case .linuxSLL2: .linuxSLL2
        case .null: .null
        case .loop: .loop
        }
    }
}

/// The network layer of a hand-built frame.
public enum FrameNetwork: Sendable {
    case ipv4(IPv4Header)
    case ipv6(IPv6Header)
    /// A non-IP EtherType (ARP 0x0806, …); the payload follows the link header.
    case other(etherType: UInt16)

    /// The EtherType announcing this layer.
    public var etherType: UInt16 {
        switch self {
        case .ipv4: 0x0800
        case .ipv6: 0x86DD
        case .other(let type): type
        }
    }
}

/// IPv4 header fields; total length and checksum are computed.
public struct IPv4Header: Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var timeToLive: UInt8 = 64
    public var typeOfService: UInt8 = 0
    public var identification: UInt16 = 0
    public var dontFragment = false
    public var moreFragments = false
    /// Fragment offset in bytes (a multiple of 8).
    public var fragmentOffset: UInt16 = 0
    /// Option bytes, padded with end-of-list to a multiple of 4.
    public var options: [UInt8] = []
    /// The protocol field; nil takes it from the transport layer.
    public var protocolNumber: UInt8?

    public init(
        source: IPAddress, destination: IPAddress, timeToLive: UInt8 = 64, identification: UInt16 = 0,
        dontFragment: Bool = false, moreFragments: Bool = false, fragmentOffset: UInt16 = 0,
        options: [UInt8] = [], protocolNumber: UInt8? = nil
    ) {
        self.source = source
        self.destination = destination
        self.timeToLive = timeToLive
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.options = options
        self.protocolNumber = protocolNumber
    }
}

/// IPv6 header fields and extension-header chain; payload length and next-header values are computed.
public struct IPv6Header: Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var hopLimit: UInt8 = 64
    public var trafficClass: UInt8 = 0
    public var flowLabel: UInt32 = 0
    /// Extension headers in chain order.
    public var extensions: [IPv6ExtensionHeader] = []

    public init(
        source: IPAddress, destination: IPAddress, hopLimit: UInt8 = 64, trafficClass: UInt8 = 0,
        flowLabel: UInt32 = 0, extensions: [IPv6ExtensionHeader] = []
    ) {
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel
        self.extensions = extensions
    }
}

/// An IPv6 extension header. Option areas are padded (Pad1/PadN) to a multiple of 8 bytes.
public enum IPv6ExtensionHeader: Sendable {
    /// Hop-by-hop options (type 0).
    case hopByHop(options: [UInt8] = [])
    /// Routing header (type 43): routing type, segments left, then type-specific data
    /// (zero-padded to a multiple of 8 bytes with the 4 header bytes).
    case routing(routingType: UInt8 = 0, segmentsLeft: UInt8 = 0, data: [UInt8] = [0, 0, 0, 0])
    /// Destination options (type 60).
    case destinationOptions(options: [UInt8] = [])
    /// Fragment header (type 44); offset in bytes (a multiple of 8).
    case fragment(offset: UInt16 = 0, moreFragments: Bool = false, identification: UInt32 = 1)

    /// The header's protocol number in a next-header field.
    public var headerType: UInt8 {
        switch self {
        case .hopByHop: 0
        case .routing: 43
        case .destinationOptions: 60
        case .fragment: 44
        }
    }
}

/// A TCP option; the options area is padded with end-of-list to a multiple of 4 bytes.
public enum TCPOption: Sendable {
    case endOfList
    case noOperation
    case maximumSegmentSize(UInt16)
    case windowScale(UInt8)
    case sackPermitted
    case timestamps(value: UInt32, echoReply: UInt32)
    /// Any other option: kind, then data (the length byte is computed).
    case other(kind: UInt8, data: [UInt8])

    /// Appends the option's wire form.
    func write(to out: inout [UInt8]) {
        switch self {
        case .endOfList: out.append(0)
        case .noOperation: out.append(1)
        case .maximumSegmentSize(let mss): out += [2, 4, UInt8(mss >> 8), UInt8(mss & 0xFF)]
        case .windowScale(let shift): out += [3, 3, shift]
        case .sackPermitted: out += [4, 2]
        case .timestamps(let value, let echo):
            out += [8, 10]
            for word in [value, echo] {
                out += [UInt8(word >> 24), UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
            }
        case .other(let kind, let data):
            out += [kind, UInt8(truncatingIfNeeded: data.count + 2)]
            out += data
        }
    }
}

/// TCP header fields; data offset and checksum are computed.
public struct TCPHeader: Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: UInt32 = 0
    public var acknowledgment: UInt32 = 0
    public var flags: TCPFlags = [.ack]
    public var window: UInt16 = 65535
    public var urgentPointer: UInt16 = 0
    public var options: [TCPOption] = []

    public init(
        sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32 = 0, acknowledgment: UInt32 = 0,
        flags: TCPFlags = [.ack], window: UInt16 = 65535, urgentPointer: UInt16 = 0, options: [TCPOption] = []
    ) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.urgentPointer = urgentPointer
        self.options = options
    }
}

/// The transport layer of a hand-built frame.
public enum FrameTransport: Sendable {
    /// Nothing: the payload follows the IP header (IPv6 next header 59 unless the IPv4
    /// header names a protocol).
    case none
    case tcp(TCPHeader)
    case udp(sourcePort: UInt16, destinationPort: UInt16)
    /// ICMP echo request (type 8) or reply (type 0).
    case icmpEcho(reply: Bool = false, identifier: UInt16 = 1, sequence: UInt16 = 1)
    /// ICMPv6 echo request (type 128) or reply (type 129).
    case icmpv6Echo(reply: Bool = false, identifier: UInt16 = 1, sequence: UInt16 = 1)
    /// An upper-layer protocol the builder writes no header for (SCTP, GRE, …).
    case other(protocolNumber: UInt8)
}
