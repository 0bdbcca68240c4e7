import SidetapCore
import SidetapPcap

/// The per-packet decision for every port: which ports take a packet, and how many of its
/// bytes each keeps.
///
/// One `Selector` per source thread (it is not thread-safe); all of them share one
/// `CompiledRuleSet`. Everything it needs is allocated in `init`: `select` allocates nothing.
///
/// Flow-only rules (protocol, addresses, ports, VLAN, direction, source, guest) are decided
/// once per directed flow and cached: the cache keeps, per port, the first matching flow-only
/// rule and the per-packet rules (TCP flags, pcap) before it whose flow part matches. A cached
/// packet then costs a lookup plus those per-packet rules only. Each distinct pcap expression
/// runs at most once per packet, whatever the number of rules and ports using it.
///
/// A pcap expression whose answer rests only on what every packet of the flow shares
/// (addresses, protocol, ports, the header layout: `tcp port 80`, `net 10.0.0.0/8 and udp`)
/// is settled once, on the flow's first packet (`FilterProgram.flowInvariantResult`), and its
/// rule then costs nothing per packet; expressions that look at anything else (TCP flags,
/// lengths, payload) keep running on every packet.
public final class Selector {
    /// The rules this selector applies.
    public let rules: CompiledRuleSet
    /// This selector's counters, readable from any thread; they hold what the selector's
    /// thread last handed over with `publishCounters()`.
    public let counters: SelectorCounters

    let portCount: Int
    let allPorts: UInt64
    /// Ports decided through the flow cache, and ports evaluated rule by rule every packet.
    let cachedPorts: UInt64
    let uncachedPorts: UInt64
    let ports: UnsafeMutableBufferPointer<PortPlan>
    let rulePlans: UnsafeMutableBufferPointer<RulePlan>
    let packetTerms: UnsafeMutableBufferPointer<PacketTerm>
    let perPacketRuleIndex: UnsafeMutableBufferPointer<Int32>
    /// Rule counters then the "unmatched" counter, port after port (`PortPlan.counterBase`).
    let ruleCounters: ContiguousArray<Counter>
    /// Wire bytes per rule, parallel to `ruleCounters`.
    let ruleByteCounters: ContiguousArray<Counter>
    let acceptedCounters: ContiguousArray<Counter>
    /// Tallies the hot path adds to (plain memory, this thread only), parallel to
    /// `ruleCounters` and `acceptedCounters`; `publishCounters()` hands them over. Touching
    /// eight shared atomic counters per packet cost a quarter of the 4-port selection.
    let ruleTally: UnsafeMutableBufferPointer<UInt64>
    let ruleByteTally: UnsafeMutableBufferPointer<UInt64>
    let acceptedTally: UnsafeMutableBufferPointer<UInt64>
    let programs: ContiguousArray<FilterProgram?>
    let linkTypes: [LinkType]
    let lastSlice: UnsafeMutableBufferPointer<UInt32>
    /// Rule (relative to its port) decided by a per-packet rule in the current packet.
    let overrideRule: UnsafeMutableBufferPointer<UInt16>
    let pcapStamp: UnsafeMutableBufferPointer<UInt64>
    let pcapValue: UnsafeMutableBufferPointer<Bool>
    /// Per pcap expression, for the flow being filled: the packet serial it was settled for
    /// and the answer (1 true, 0 false, -1 varies within the flow).
    let settledStamp: UnsafeMutableBufferPointer<UInt64>
    let settledValue: UnsafeMutableBufferPointer<Int8>
    /// Invariant bits of the flow being filled (`InvariantBits.masks`).
    let invariantMasks: UnsafeMutableBufferPointer<UInt8>
    let cache: FlowCache?
    let flow: FlowEvaluator
    /// Mutable scalars behind a pointer: stored `var`s of a class would cost a dynamic
    /// exclusivity check on every access (measured: a quarter of the cached path).
    let state: UnsafeMutablePointer<SelectorState>

    /// - Parameter flowCacheSize: directed flows kept in the flow cache (rounded up to a power
    ///   of two); 0 disables the cache, so every rule is evaluated for every packet.
    public init(_ rules: CompiledRuleSet, flowCacheSize: Int = 65536) {
        self.rules = rules
        counters = SelectorCounters(rules)
        portCount = rules.compiledPorts.count
        allPorts = portCount == 64 ? ~0 : (1 << UInt64(portCount)) &- 1
        var cached: UInt64 = 0
        for (p, port) in rules.compiledPorts.enumerated() where port.cacheable { cached |= 1 << UInt64(p) }
        cachedPorts = flowCacheSize > 0 ? cached : 0
        uncachedPorts = allPorts & ~cachedPorts
        ports = Self.copy(rules.portPlans)
        rulePlans = Self.copy(rules.rulePlans)
        packetTerms = Self.copy(rules.packetTerms)
        perPacketRuleIndex = Self.copy(rules.perPacketRuleIndex)
        var flat = ContiguousArray<Counter>()
        var flatBytes = ContiguousArray<Counter>()
        for port in counters.ports {
            flat += port.rules
            flat.append(port.unmatched)
            flatBytes += port.ruleBytes
            flatBytes.append(port.unmatchedBytes)
        }
        ruleCounters = flat
        ruleByteCounters = flatBytes
        acceptedCounters = ContiguousArray(counters.ports.map(\.accepted))
        ruleTally = Self.copy(Array(repeating: UInt64(0), count: flat.count))
        ruleByteTally = Self.copy(Array(repeating: UInt64(0), count: flat.count))
        acceptedTally = Self.copy(Array(repeating: UInt64(0), count: portCount))
        programs = ContiguousArray(rules.programs)
        linkTypes = rules.linkTypes
        lastSlice = Self.copy(Array(repeating: UInt32.max, count: portCount))
        overrideRule = Self.copy(Array(repeating: UInt16(0), count: portCount))
        pcapStamp = Self.copy(Array(repeating: UInt64(0), count: rules.pcapExpressions.count))
        pcapValue = Self.copy(Array(repeating: false, count: rules.pcapExpressions.count))
        settledStamp = Self.copy(Array(repeating: UInt64(0), count: rules.pcapExpressions.count))
        settledValue = Self.copy(Array(repeating: Int8(-1), count: rules.pcapExpressions.count))
        invariantMasks = Self.copy(Array(repeating: UInt8(0), count: Self.invariantPrefix))
        flow = FlowEvaluator(rules.flowTables)
        state = .allocate(capacity: 1)
        state.initialize(to: SelectorState())
        cache = flowCacheSize > 0 && cached != 0
            ? FlowCache(capacity: flowCacheSize, portCount: portCount, candidatePortCount: rules.candidatePortCount)
            : nil
    }

    deinit {
        for buffer in [UnsafeMutableRawBufferPointer(ports), UnsafeMutableRawBufferPointer(rulePlans),
                       UnsafeMutableRawBufferPointer(packetTerms), UnsafeMutableRawBufferPointer(perPacketRuleIndex),
                       UnsafeMutableRawBufferPointer(lastSlice), UnsafeMutableRawBufferPointer(overrideRule),
                       UnsafeMutableRawBufferPointer(pcapStamp), UnsafeMutableRawBufferPointer(pcapValue),
                       UnsafeMutableRawBufferPointer(ruleTally), UnsafeMutableRawBufferPointer(acceptedTally),
                       UnsafeMutableRawBufferPointer(ruleByteTally), UnsafeMutableRawBufferPointer(settledStamp),
                       UnsafeMutableRawBufferPointer(settledValue), UnsafeMutableRawBufferPointer(invariantMasks)] {
            buffer.deallocate()
        }
        cache?.deallocate()
        flow.deallocate()
        state.deallocate()
    }

    static func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
        _ = buffer.initialize(from: array)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
    }

    /// Hands this thread's tallies over to `counters`; call it from the selector's own thread
    /// (the engine does after every batch).
    public func publishCounters() {
        for i in 0..<ruleTally.count {
            ruleCounters[i].publish(ruleTally[i])
            ruleByteCounters[i].publish(ruleByteTally[i])
        }
        for p in 0..<acceptedTally.count { acceptedCounters[p].publish(acceptedTally[p]) }
    }

    /// BPF programs this selector has run on packets (flows whose pcap expressions were
    /// settled once run none). Read it on the selector's own thread.
    public var pcapProgramRuns: UInt64 { state.pointee.programRuns }

    /// Number of directed flows the cache holds (0 when disabled).
    public var flowCacheCapacity: Int { cache?.entryCount ?? 0 }

    /// Forgets every cached flow decision.
    public func clearFlowCache() { cache?.clear() }

    /// Bytes to keep of the last selected packet for `port` (`UInt32.max` = all of it).
    /// Meaningful for the ports in the set the last `select` returned.
    @inline(__always)
    public func sliceLength(port: Int) -> UInt32 {
        port >= 0 && port < portCount ? lastSlice[port] : UInt32.max
    }

    /// The ports that take this packet.
    ///
    /// - Parameters:
    ///   - decoded: the packet decoded with `PacketDecoder` for its source's link type.
    ///   - flow, reversed: `FlowKey.make(decoded)`.
    ///   - hash: `flow.symmetricHash` (sampling and balancing use it, so both directions of a
    ///     flow get one decision).
    public func select(_ packet: CapturedPacket, decoded: DecodedPacket, flow: FlowKey, reversed: Bool, hash: UInt32) -> PortSet {
        state.pointee.serial &+= 1
        let direction = packet.direction != .unknown ? packet.direction : decoded.direction
        guard let cache, !decoded.isFragment else {
            return PortSet(rawValue: selectEachRule(allPorts, packet, decoded, direction, hash))
        }
        let hasPorts: UInt64 = decoded.hasPorts ? 1 << 25 : 0
        let k4 = UInt64(flow.lowerPort) | UInt64(flow.upperPort) << 16 | UInt64(flow.ipProtocol) << 32
            | UInt64(flow.vlan) << 40 | UInt64(decoded.ipVersion) << 56
        // The header layout is part of the key, so every packet of an entry has its fields at
        // the same offsets (what settling a pcap expression per flow relies on).
        let network = UInt64(decoded.networkOffset &+ 1), transport = UInt64(decoded.transportOffset &+ 1)
        let exactLayout = network < 511 && transport < 511
        let layout = UInt64(UInt8(truncatingIfNeeded: decoded.linkType.rawValue))
            | min(network, 511) << 8 | min(transport, 511) << 17
        let k5 = UInt64(packet.sourceIndex) | UInt64(direction.rawValue) << 16 | (reversed ? 1 << 24 : 0)
            | hasPorts | layout << 26 | 1 << 63
        let (index, hit) = cache.lookup(
            flow.lowerAddress.high, flow.lowerAddress.low, flow.upperAddress.high, flow.upperAddress.low, k4, k5,
            hash: UInt64(hash) ^ k5 << 32, serial: state.pointee.serial)
        if !hit {
            fill(cache, index, FlowFacts(decoded, direction: direction, sourceIndex: packet.sourceIndex), hash,
                 packet, decoded, exactLayout: exactLayout)
        }
        var result = finish(cache, index, packet, decoded)
        if uncachedPorts != 0 {
            result |= selectEachRule(uncachedPorts, packet, decoded, direction, hash)
        }
        return PortSet(rawValue: result)
    }

    // MARK: Sampling and balancing (pure functions of the symmetric flow hash)

    @inline(__always)
    static func keeps(_ hash: UInt32, divisor: UInt32, salt: UInt64) -> Bool {
        divisor <= 1 || FlowKey.derive(hash, salt: salt) % divisor == 0
    }

    @inline(__always)
    static func picks(_ plan: PortPlan, _ hash: UInt32) -> Bool {
        plan.memberCount <= 1 || FlowKey.derive(hash, salt: plan.groupSalt) % plan.memberCount == plan.memberIndex
    }

    // MARK: Cached path

    /// Evaluates the flow-only part of every cached port for a new flow into entry `index`.
    func fill(_ cache: FlowCache, _ index: Int, _ facts: FlowFacts, _ hash: UInt32,
              _ packet: CapturedPacket, _ decoded: DecodedPacket, exactLayout: Bool) {
        state.pointee.invariantReady = false
        var acceptMask: UInt64 = 0
        var pendingMask: UInt64 = 0
        var activeMask: UInt64 = 0
        var remaining = cachedPorts
        while remaining != 0 {
            let p = remaining.trailingZeroBitCount
            remaining &= remaining &- 1
            let bit: UInt64 = 1 << UInt64(p)
            let plan = ports[p]
            guard Self.picks(plan, hash) else { continue }
            activeMask |= bit
            let portKeeps = Self.keeps(hash, divisor: plan.sampleDivisor, salt: plan.sampleSalt)
            var decided = UInt16(plan.ruleCount)
            var candidates: UInt64 = 0
            var candidateAccepts: UInt64 = 0
            let first = Int(plan.firstRule)
            for r in first..<(first + Int(plan.ruleCount)) {
                let rule = rulePlans[r]
                guard flow.allHold(rule.flowTermStart, rule.flowTermCount, facts) else { continue }
                let keeps = rule.accept && portKeeps && Self.keeps(hash, divisor: rule.sampleDivisor, salt: rule.sampleSalt)
                if rule.perPacket {
                    let settled = exactLayout ? settle(r, packet, decoded) : -1
                    if settled == 0 { continue }   // can never match a packet of this flow
                    if settled < 0 {
                        let candidate: UInt64 = 1 << UInt64(rule.perPacketOrdinal)
                        candidates |= candidate
                        if keeps { candidateAccepts |= candidate }
                        continue
                    }
                }
                decided = UInt16(r - first)
                if keeps { acceptMask |= bit }
                break
            }
            cache.decisions(index)[p] = decided
            if plan.candidateRow >= 0 {
                cache.candidates(index)[Int(plan.candidateRow)] =
                    CandidateRow(candidates: candidates, candidateAccepts: candidateAccepts)
                if candidates != 0 { pendingMask |= bit }
            }
        }
        let entry = cache.entry(index)
        entry.pointee.acceptMask = acceptMask
        entry.pointee.pendingMask = pendingMask
        entry.pointee.activeMask = activeMask
    }

    /// Applies a cached entry to this packet: per-packet candidates first, then counters and
    /// slices. Returns the accepted ports among the cached ones.
    @inline(__always)
    func finish(_ cache: FlowCache, _ index: Int, _ packet: CapturedPacket, _ decoded: DecodedPacket) -> UInt64 {
        let entry = cache.entry(index)
        var accepted = entry.pointee.acceptMask
        var pending = entry.pointee.pendingMask
        var overridden: UInt64 = 0
        while pending != 0 {
            let p = pending.trailingZeroBitCount
            pending &= pending &- 1
            let bit: UInt64 = 1 << UInt64(p)
            let plan = ports[p]
            let row = cache.candidates(index)[Int(plan.candidateRow)]
            var candidates = row.candidates
            while candidates != 0 {
                let ordinal = candidates.trailingZeroBitCount
                candidates &= candidates &- 1
                let r = Int(perPacketRuleIndex[Int(plan.perPacketStart) &+ ordinal])
                if packetHolds(r, packet, decoded) {
                    overridden |= bit
                    overrideRule[p] = UInt16(r &- Int(plan.firstRule))
                    if row.candidateAccepts & (1 << UInt64(ordinal)) != 0 { accepted |= bit } else { accepted &= ~bit }
                    break
                }
            }
        }
        var active = entry.pointee.activeMask
        let decisions = cache.decisions(index)
        while active != 0 {
            let p = active.trailingZeroBitCount
            active &= active &- 1
            let bit: UInt64 = 1 << UInt64(p)
            let plan = ports[p]
            let relative = overridden & bit != 0 ? overrideRule[p] : decisions[p]
            ruleTally[Int(plan.counterBase) &+ Int(relative)] &+= 1
            ruleByteTally[Int(plan.counterBase) &+ Int(relative)] &+= UInt64(packet.wireLength)
            if accepted & bit != 0 {
                acceptedTally[p] &+= 1
                lastSlice[p] = rulePlans[Int(plan.firstRule) &+ Int(relative)].slice
            }
        }
        return accepted
    }

    // MARK: Rule-by-rule path (cache off, fragments, ports with very many per-packet rules)

    /// Evaluates every rule of the ports in `mask` in order, without the cache.
    func selectEachRule(_ mask: UInt64, _ packet: CapturedPacket, _ decoded: DecodedPacket,
                        _ direction: PacketDirection, _ hash: UInt32) -> UInt64 {
        let facts = FlowFacts(decoded, direction: direction, sourceIndex: packet.sourceIndex)
        var accepted: UInt64 = 0
        var remaining = mask
        while remaining != 0 {
            let p = remaining.trailingZeroBitCount
            remaining &= remaining &- 1
            let plan = ports[p]
            guard Self.picks(plan, hash) else { continue }
            let first = Int(plan.firstRule)
            var decided = Int(plan.ruleCount)
            for r in first..<(first + Int(plan.ruleCount))
            where flow.allHold(rulePlans[r].flowTermStart, rulePlans[r].flowTermCount, facts) && packetHolds(r, packet, decoded) {
                decided = r - first
                break
            }
            ruleTally[Int(plan.counterBase) + decided] &+= 1
            ruleByteTally[Int(plan.counterBase) + decided] &+= UInt64(packet.wireLength)
            guard decided < Int(plan.ruleCount) else { continue }
            let rule = rulePlans[first + decided]
            if rule.accept && Self.keeps(hash, divisor: plan.sampleDivisor, salt: plan.sampleSalt)
                && Self.keeps(hash, divisor: rule.sampleDivisor, salt: rule.sampleSalt) {
                accepted |= 1 << UInt64(p)
                acceptedTally[p] &+= 1
                lastSlice[p] = rule.slice
            }
        }
        return accepted
    }

    // MARK: Per-packet terms

    /// True when every per-packet term of rule `r` holds for this packet.
    @inline(__always)
    func packetHolds(_ r: Int, _ packet: CapturedPacket, _ decoded: DecodedPacket) -> Bool {
        let plan = rulePlans[r]
        var t = Int(plan.packetTermStart)
        let end = t &+ Int(plan.packetTermCount)
        while t < end {
            let term = packetTerms[t]
            t &+= 1
            let holds: Bool
            if term.kind == .flags {
                let flags = decoded.tcpFlags.rawValue
                holds = decoded.hasTCP && flags & term.setFlags == term.setFlags && flags & term.clearFlags == 0
            } else {
                holds = pcapMatches(Int(term.pcapIndex), packet, decoded)
            }
            if holds == term.negated { return false }
        }
        return true
    }

    /// Shared pcap expression `index` compiled for the current packet's link type; nil when it
    /// does not compile for that link type (it then matches nothing). The link type's index is
    /// looked up once per packet.
    @inline(__always)
    func program(_ index: Int, for decoded: DecodedPacket) -> FilterProgram? {
        let serial = state.pointee.serial
        if state.pointee.linkSerial != serial {
            state.pointee.linkSerial = serial
            state.pointee.linkIndex = linkTypes.firstIndex(of: decoded.linkType) ?? -1
        }
        let linkIndex = state.pointee.linkIndex
        return linkIndex >= 0 ? programs[index &* linkTypes.count &+ linkIndex] : nil
    }

    /// Runs shared pcap expression `index` on the packet, once per packet.
    func pcapMatches(_ index: Int, _ packet: CapturedPacket, _ decoded: DecodedPacket) -> Bool {
        let serial = state.pointee.serial
        if pcapStamp[index] == serial { return pcapValue[index] }
        var value = false
        if let program = program(index, for: decoded) {
            value = program.matches(packet.bytes, wireLength: packet.wireLength)
            state.pointee.programRuns &+= 1
        }
        pcapStamp[index] = serial
        pcapValue[index] = value
        return value
    }
}

/// The selector's mutable scalars.
struct SelectorState {
    /// True once `invariantMasks`/`invariantPresent` describe the flow being filled.
    var invariantReady = false
    /// Leading bytes every packet of the flow being filled has captured.
    var invariantPresent = 0
    /// BPF programs run on packets.
    var programRuns: UInt64 = 0
    /// Incremented for each packet: stamps pcap results and cache uses.
    var serial: UInt64 = 0
    /// Serial for which `linkIndex` was computed.
    var linkSerial: UInt64 = 0
    /// Index of the packet's link type in `linkTypes`, or -1.
    var linkIndex = -1
}
