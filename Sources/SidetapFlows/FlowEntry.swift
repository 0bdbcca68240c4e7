import SidetapCore

/// What the table keeps of one direction of a flow: plain values only, so an entry can be
/// copied bit for bit by a reader while the writer may be changing it (the copy is checked
/// against the slot's version afterwards).
@usableFromInline
struct EndpointState: Sendable {
    @usableFromInline var mac: UInt64 = 0
    @usableFromInline var packets: UInt64 = 0
    @usableFromInline var bytes: UInt64 = 0
    @usableFromInline var nextSequence: UInt32 = 0
    @usableFromInline var acknowledgement: UInt32 = 0
    @usableFromInline var window: UInt16 = 0
    @usableFromInline var flags: UInt16 = 0
    @usableFromInline var hasSequence = false
    @usableFromInline var hasAcknowledgement = false

    @inlinable init() {}

    /// Accounts one packet this endpoint sent.
    @inlinable
    mutating func record(_ decoded: DecodedPacket, wireLength: Int) {
        mac = decoded.sourceMAC
        packets &+= 1
        bytes &+= UInt64(truncatingIfNeeded: wireLength)
        // TCP numbers come from the first fragment's header or an unfragmented segment only;
        // a fragmented segment is keyed without ports and is not a TCP flow anyway.
        guard decoded.ipProtocol == IPProtocolNumber.tcp, decoded.transportOffset >= 0, !decoded.isFragment else { return }
        let segmentFlags = decoded.tcpFlags
        flags |= segmentFlags.rawValue
        window = decoded.tcpWindow
        if segmentFlags.contains(.ack) {
            let ack = decoded.tcpAcknowledgment
            if !hasAcknowledgement || SequenceNumber.isAfter(ack, acknowledgement) {
                acknowledgement = ack
                hasAcknowledgement = true
            }
        }
        // A RST consumes no sequence space; a header whose options were cut off by the
        // capture has no known payload offset, so it cannot say where the segment ends.
        guard !segmentFlags.contains(.rst), decoded.payloadOffset >= 0 else { return }
        // The payload length from the IP length field, not from what was captured.
        var length = UInt32(truncatingIfNeeded: max(0, decoded.datagramEnd - decoded.payloadOffset))
        if segmentFlags.contains(.syn) { length &+= 1 }
        if segmentFlags.contains(.fin) { length &+= 1 }
        let end = decoded.tcpSequence &+ length
        if !hasSequence || SequenceNumber.isAfter(end, nextSequence) {
            nextSequence = end
            hasSequence = true
        }
    }

    /// The public form, with the endpoint's address and port from the key.
    @inlinable
    func endpoint(address: IPAddress, port: UInt16) -> FlowEndpoint {
        FlowEndpoint(
            address: address, port: port, mac: mac, packets: packets, bytes: bytes,
            nextSequence: hasSequence ? nextSequence : nil,
            acknowledgement: hasAcknowledgement ? acknowledgement : nil,
            window: window, flagsSeen: TCPFlags(rawValue: flags))
    }
}

/// One slot of the flow table. Endpoint state is kept by key side (lower, upper); the
/// initiator is one of them.
@usableFromInline
struct FlowEntry: Sendable {
    @usableFromInline var key: FlowKey
    @usableFromInline var hash: UInt32 = 0
    @usableFromInline var occupied = false
    @usableFromInline var initiatorIsUpper = false
    @usableFromInline var vlanCount: UInt8 = 0
    @usableFromInline var outerVLAN: UInt16 = 0
    @usableFromInline var innerVLAN: UInt16 = 0
    @usableFromInline var linkType: LinkType = .ethernet
    @usableFromInline var firstSeen: UInt64 = 0
    @usableFromInline var lastSeen: UInt64 = 0
    @usableFromInline var lower = EndpointState()
    @usableFromInline var upper = EndpointState()

    @inlinable
    init() {
        key = FlowKey(lowerAddress: .zero, upperAddress: .zero, lowerPort: 0, upperPort: 0, ipProtocol: 0, vlan: 0xFFFF)
    }

    /// The public copy of this entry.
    func snapshot(sourceIndex: UInt16, source: SourceDescription) -> FlowSnapshot {
        let lowerEnd = lower.endpoint(address: key.lowerAddress, port: key.lowerPort)
        let upperEnd = upper.endpoint(address: key.upperAddress, port: key.upperPort)
        return FlowSnapshot(
            key: key,
            initiator: initiatorIsUpper ? upperEnd : lowerEnd,
            responder: initiatorIsUpper ? lowerEnd : upperEnd,
            firstSeenNanos: firstSeen, lastSeenNanos: lastSeen,
            sourceIndex: sourceIndex, source: source, linkType: linkType,
            vlanCount: vlanCount, outerVLAN: outerVLAN, innerVLAN: innerVLAN)
    }
}
