import SidetapCore
import SidetapPcap

/// Settling per-packet rules once per flow: when a rule's pcap expressions answer the same for
/// every packet of a flow, the flow cache stores the rule's outcome and no packet of the flow
/// runs them again. Used only when a flow's first packet fills its cache entry.
extension Selector {
    /// Leading bytes whose invariance is tracked (headers sit well inside this).
    static let invariantPrefix = 256

    /// Rule `r`'s per-packet terms for this flow: 1 when they hold for every packet of it, 0
    /// when they hold for none, -1 when it depends on the packet.
    func settle(_ r: Int, _ packet: CapturedPacket, _ decoded: DecodedPacket) -> Int8 {
        let plan = rulePlans[r]
        var outcome: Int8 = 1
        var t = Int(plan.packetTermStart)
        let end = t &+ Int(plan.packetTermCount)
        while t < end {
            let term = packetTerms[t]
            t &+= 1
            guard term.kind == .pcap else { outcome = -1; continue }
            let value = settledPcap(Int(term.pcapIndex), packet, decoded)
            if value < 0 { outcome = -1; continue }
            if (value == 1) == term.negated { return 0 }
        }
        return outcome
    }

    /// Shared pcap expression `index` for this flow: 1 / 0 when every packet of the flow gets
    /// that answer, -1 when it varies. Computed at most once per filled flow.
    func settledPcap(_ index: Int, _ packet: CapturedPacket, _ decoded: DecodedPacket) -> Int8 {
        let serial = state.pointee.serial
        if settledStamp[index] == serial { return settledValue[index] }
        var value: Int8 = 0   // no program for this link type: pcapMatches answers false, always
        if let program = program(index, for: decoded) {
            if !state.pointee.invariantReady { describeInvariant(decoded) }
            var invariant = InvariantBits(masks: invariantMasks)
            invariant.present = state.pointee.invariantPresent
            switch program.flowInvariantResult(packet.bytes, wireLength: packet.wireLength, invariant: invariant) {
            case true?: value = 1
            case false?: value = 0
            case nil: value = -1
            }
        }
        settledStamp[index] = serial
        settledValue[index] = value
        return value
    }

    /// Marks the header bits that every packet of this flow cache entry shares: the entry's
    /// key fixes addresses, protocol, ports, VLAN, source and the header layout (link type,
    /// network and transport offsets); the cached path takes no fragments.
    func describeInvariant(_ decoded: DecodedPacket) {
        var bits = InvariantBits(masks: invariantMasks)
        bits.present = state.pointee.invariantPresent
        bits.reset()
        defer {
            state.pointee.invariantPresent = bits.present
            state.pointee.invariantReady = true
        }
        let network = decoded.networkOffset
        let transport = decoded.transportOffset
        guard decoded.ipVersion != 0, network >= 0 else { return }
        // The EtherType just before the IP header: the decoder follows only 0x0800 and 0x86DD.
        switch decoded.linkType {
        case .ethernet, .linuxSLL:
            bits.know(network - 2, 2)
        case .linuxSLL2:
            bits.know(decoded.vlanCount == 0 ? 0 : network - 2, 2)
        default:
            break
        }
        if decoded.ipVersion == 4 {
            bits.know(bits: 0xF0, at: network)                     // version 4
            if transport >= 0 { bits.know(bits: 0x0F, at: network) }   // IHL = transport − network
            bits.know(bits: 0x3F, at: network + 6)                 // MF and fragment offset: 0
            bits.know(network + 7, 1)
            bits.know(network + 9, 1)                              // protocol
            bits.know(network + 12, 8)                             // addresses
            bits.ensurePresent(network + 20)
        } else {
            bits.know(bits: 0xF0, at: network)                     // version 6
            if transport == network + 40 { bits.know(network + 6, 1) }   // next header = protocol
            bits.know(network + 8, 32)                             // addresses
            bits.ensurePresent(network + 40)
        }
        if decoded.hasPorts && transport >= 0 {
            bits.know(transport, 4)                                // ports
            bits.ensurePresent(transport + 4)
        }
    }
}
