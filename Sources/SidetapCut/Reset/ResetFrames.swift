import SidetapCore

/// The two TCP RST frames that cut a flow, built from its snapshot: one toward each endpoint,
/// each looking as if the other endpoint sent it, with exactly the sequence number the
/// receiver expects next (RFC 5961 §3.2: only that number resets at once; any other in the
/// window draws a challenge ACK).
///
/// Frames are Ethernet II with the flow's VLAN tags (one tag: 802.1Q; two: an 802.1ad S-tag
/// outside an 802.1Q C-tag), then IPv4 (DF, TTL 64) or IPv6 (hop limit 64), then a 20-byte
/// TCP header with RST+ACK, window 0 and correct checksums, padded to Ethernet's 60-byte
/// minimum. Flows seen on other link types (Linux cooked, raw IP) carry no MAC addresses and
/// cannot be reset this way.
public struct ResetFrames: Sendable, Hashable {
    /// The RST the initiator receives: from the responder, sequence = responder's next.
    public var towardInitiator: [UInt8]
    /// The RST the responder receives: from the initiator, sequence = initiator's next.
    public var towardResponder: [UInt8]
    /// The sequence numbers they carry.
    public var sequenceToInitiator: UInt32
    public var sequenceToResponder: UInt32

    /// Builds both frames; throws `CutError.notResettable` saying why a flow cannot be reset.
    public init(_ flow: FlowSnapshot) throws(CutError) {
        guard flow.key.ipProtocol == IPProtocolNumber.tcp, flow.key.lowerPort != 0 || flow.key.upperPort != 0 else {
            throw .notResettable("flow \(flow.key) is not a TCP connection")
        }
        guard flow.linkType == .ethernet else {
            throw .notResettable("flow \(flow.key) was captured with link type \(flow.linkType), which has no MAC addresses to address a RST with")
        }
        guard let initiatorNext = flow.initiator.nextSequence else {
            throw .notResettable("no TCP segment from \(flow.initiator.address):\(flow.initiator.port) seen yet, so its next sequence number is unknown")
        }
        guard let responderNext = flow.responder.nextSequence else {
            throw .notResettable("no TCP segment from \(flow.responder.address):\(flow.responder.port) seen yet, so its next sequence number is unknown")
        }
        guard flow.initiator.address.isIPv4 == flow.responder.address.isIPv4 else {
            throw .notResettable("flow \(flow.key) mixes IPv4 and IPv6 addresses")
        }
        towardInitiator = Self.frame(from: flow.responder, to: flow.initiator, sequence: responderNext, acknowledgement: initiatorNext, flow: flow)
        towardResponder = Self.frame(from: flow.initiator, to: flow.responder, sequence: initiatorNext, acknowledgement: responderNext, flow: flow)
        sequenceToInitiator = responderNext
        sequenceToResponder = initiatorNext
    }

    /// One RST+ACK frame from `sender` to `receiver`.
    static func frame(from sender: FlowEndpoint, to receiver: FlowEndpoint, sequence: UInt32, acknowledgement: UInt32, flow: FlowSnapshot) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(90)
        bytes.appendMAC(receiver.mac)
        bytes.appendMAC(sender.mac)
        let tags = min(Int(flow.vlanCount), 2)
        if tags == 2 {
            bytes.appendBE16(0x88A8)
            bytes.appendBE16(flow.outerVLAN & 0x0FFF)
            bytes.appendBE16(0x8100)
            bytes.appendBE16(flow.innerVLAN & 0x0FFF)
        } else if tags == 1 {
            bytes.appendBE16(0x8100)
            bytes.appendBE16(flow.outerVLAN & 0x0FFF)
        }
        let ipv4 = sender.address.isIPv4
        bytes.appendBE16(ipv4 ? 0x0800 : 0x86DD)
        let tcpLength = 20
        var pseudo: UInt32 = 0
        if ipv4 {
            let start = bytes.count
            bytes += [0x45, 0x00]
            bytes.appendBE16(UInt16(20 + tcpLength))
            bytes.appendBE16(0)                       // identification
            bytes.appendBE16(0x4000)                  // don't fragment
            bytes += [64, IPProtocolNumber.tcp]
            bytes.appendBE16(0)                       // checksum, below
            bytes.appendBE32(sender.address.ipv4Value)
            bytes.appendBE32(receiver.address.ipv4Value)
            let checksum = InternetChecksum.finish(InternetChecksum.sum(bytes[start..<bytes.count]))
            bytes[start + 10] = UInt8(checksum >> 8)
            bytes[start + 11] = UInt8(checksum & 0xFF)
            pseudo = InternetChecksum.sum(bytes[(start + 12)..<(start + 20)])
        } else {
            let start = bytes.count
            bytes.appendBE32(0x6000_0000)
            bytes.appendBE16(UInt16(tcpLength))
            bytes += [IPProtocolNumber.tcp, 64]
            bytes.appendBE64(sender.address.high)
            bytes.appendBE64(sender.address.low)
            bytes.appendBE64(receiver.address.high)
            bytes.appendBE64(receiver.address.low)
            pseudo = InternetChecksum.sum(bytes[(start + 8)..<(start + 40)])
        }
        pseudo &+= UInt32(IPProtocolNumber.tcp) &+ UInt32(tcpLength)
        let tcpStart = bytes.count
        bytes.appendBE16(sender.port)
        bytes.appendBE16(receiver.port)
        bytes.appendBE32(sequence)
        bytes.appendBE32(acknowledgement)
        bytes.appendBE16(0x5000 | TCPFlags.rst.rawValue | TCPFlags.ack.rawValue)
        bytes.appendBE16(0)                           // window
        bytes.appendBE16(0)                           // checksum, below
        bytes.appendBE16(0)                           // urgent pointer
        let checksum = InternetChecksum.finish(pseudo &+ InternetChecksum.sum(bytes[tcpStart..<bytes.count]))
        bytes[tcpStart + 16] = UInt8(checksum >> 8)
        bytes[tcpStart + 17] = UInt8(checksum & 0xFF)
        while bytes.count < 60 { bytes.append(0) }
        return bytes
    }
}

/// The Internet checksum (RFC 1071): a one's-complement sum of 16-bit words.
enum InternetChecksum {
    /// The unfolded sum of `bytes` as big-endian 16-bit words (an odd last byte is padded).
    static func sum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var total: UInt32 = 0
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            total &+= UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.endIndex { total &+= UInt32(bytes[index]) << 8 }
        return total
    }

    /// Folds a sum to 16 bits and complements it.
    static func finish(_ sum: UInt32) -> UInt16 {
        var folded = sum
        while folded > 0xFFFF { folded = (folded & 0xFFFF) &+ (folded >> 16) }
        return ~UInt16(folded)
    }
}

extension Array where Element == UInt8 {
    mutating func appendBE16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    mutating func appendBE32(_ value: UInt32) {
        appendBE16(UInt16(value >> 16))
        appendBE16(UInt16(value & 0xFFFF))
    }

    mutating func appendBE64(_ value: UInt64) {
        appendBE32(UInt32(value >> 32))
        appendBE32(UInt32(value & 0xFFFF_FFFF))
    }

    mutating func appendMAC(_ value: UInt64) {
        for shift in stride(from: 40, through: 0, by: -8) { append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }
}
