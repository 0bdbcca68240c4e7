import SidetapCore

/// The generation loop: keeps pools of live conversations per (kind, tagged, IPv6) class,
/// picks a class with the mix's probabilities, and lets one conversation of it emit the
/// next packet. Choosing the class per packet keeps the packet-level shares on target
/// however long individual conversations are.
struct TrafficEngine {
    enum Conversation {
        case tcp(TCPConversation)
        case dns(DNSExchange)
        case ntp(NTPExchange)
        case syslog(SyslogStream)
        case stream(UDPStream)
        case ping(PingSession)

        mutating func step(_ sink: inout FrameSink) -> Bool {
            switch self {
            case .tcp(var c): let done = c.step(&sink); self = .tcp(c); return done
            case .dns(var c): let done = c.step(&sink); self = .dns(c); return done
            case .ntp(var c): let done = c.step(&sink); self = .ntp(c); return done
            case .syslog(var c): let done = c.step(&sink); self = .syslog(c); return done
            case .stream(var c): let done = c.step(&sink); self = .stream(c); return done
            case .ping(var c): let done = c.step(&sink); self = .ping(c); return done
            }
        }
    }

    enum Kind: Int { case tcp = 0, udp = 1, icmp = 2 }

    let mix: TrafficMix
    var sink: FrameSink
    /// Pools indexed by kind × 4 + tagged × 2 + ipv6.
    var pools: [[Conversation]]
    var emitted = 0
    let packetLimit: Int

    init(seed: UInt64, packets: Int, mix: TrafficMix) {
        self.mix = mix
        packetLimit = packets
        sink = FrameSink(seed: seed, startNanos: mix.startNanos)
        pools = Array(repeating: [], count: 12)
        for index in pools.indices { pools[index].reserveCapacity(64) }
    }

    /// Builds the next frame in `sink.encoder`; returns its timestamp, or nil at the end.
    mutating func next() -> Int64? {
        guard emitted < packetLimit else { return nil }
        emitted += 1
        sink.nowNanos += nextGap()
        let kindRoll = sink.random.chance(mix.tcpShare) ? Kind.tcp
            : (sink.random.chance(mix.udpShare / (1 - mix.tcpShare)) ? Kind.udp : Kind.icmp)
        let tagged = sink.random.chance(mix.taggedShare)
        let ipv6 = sink.random.chance(mix.ipv6Share)
        let index = kindRoll.rawValue * 4 + (tagged ? 2 : 0) + (ipv6 ? 1 : 0)
        let target = kindRoll == .tcp ? mix.concurrentTCP : mix.concurrentOther
        let count = pools[index].count
        var slot: Int
        if count == 0 || (count < target && sink.random.chance(0.2)) {
            let vlan = tagged ? mix.vlanIDs[sink.random.below(mix.vlanIDs.count)] : 0
            pools[index].append(start(kindRoll, ipv6: ipv6, vlan: vlan))
            slot = count
        } else {
            slot = sink.random.below(count)
        }
        if pools[index][slot].step(&sink) {
            pools[index].swapAt(slot, pools[index].count - 1)
            pools[index].removeLast()
        }
        return sink.nowNanos
    }

    /// Gaps of 1 µs … 1 ms, mostly short (bursts), some long.
    mutating func nextGap() -> Int64 {
        let roll = sink.random.below(100)
        if roll < 65 { return Int64(sink.random.inRange(1_000...40_000)) }
        if roll < 95 { return Int64(sink.random.inRange(40_000...400_000)) }
        return Int64(sink.random.inRange(400_000...1_000_000))
    }

    mutating func start(_ kind: Kind, ipv6: Bool, vlan: UInt16) -> Conversation {
        switch kind {
        case .tcp:
            return .tcp(TCPConversation(&sink.random, ipv6: ipv6, vlan: vlan))
        case .icmp:
            return .ping(PingSession(&sink.random, ipv6: ipv6, vlan: vlan))
        case .udp:
            let roll = sink.random.below(100)
            if roll < 55 { return .dns(DNSExchange(&sink.random, ipv6: ipv6, vlan: vlan)) }
            if roll < 65 { return .ntp(NTPExchange(&sink.random, ipv6: ipv6, vlan: vlan)) }
            if roll < 85 { return .syslog(SyslogStream(&sink.random, ipv6: ipv6, vlan: vlan)) }
            return .stream(UDPStream(&sink.random, ipv6: ipv6, vlan: vlan))
        }
    }
}
