import SidetapCore

/// Where conversations write their packets: the reusable encoder, the random source, the
/// payload pool and the clock. One frame at a time; the engine takes it after each step.
struct FrameSink {
    var encoder = FrameEncoder(capacity: 2048)
    var random: SeededRandom
    /// Pseudo-random bytes that payloads are copied from.
    let pool: [UInt8]
    /// Time of the frame being built, nanoseconds since the Unix epoch.
    var nowNanos: Int64

    static let poolSize = 8192

    init(seed: UInt64, startNanos: Int64) {
        random = SeededRandom(seed: seed)
        var poolRandom = SeededRandom(seed: seed ^ 0x5EED_0F_B17E5)
        var bytes = [UInt8](repeating: 0, count: Self.poolSize)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            let word = poolRandom.next()
            for j in 0..<8 { bytes[i + j] = UInt8(truncatingIfNeeded: word >> (j * 8)) }
        }
        pool = bytes
        nowNanos = startNanos
    }

    /// Starts a frame from one side of `flow`: Ethernet (+ tag) and the IP header.
    /// Returns the IP header's offset for `finish`.
    mutating func begin(_ flow: FlowContext, fromClient: Bool, protocolNumber: UInt8, dontFragment: Bool = true) -> Int {
        let from = fromClient ? flow.client : flow.server
        let to = fromClient ? flow.server : flow.client
        encoder.reset()
        encoder.ethernetAddresses(destination: to.mac, source: from.mac)
        if flow.vlan != 0 { encoder.vlanTag(VLANTag(id: flow.vlan)) }
        if flow.ipv6 {
            encoder.etherType(0x86DD)
            return encoder.beginIPv6(source: from.address, destination: to.address, nextHeader: protocolNumber, hopLimit: from.hopLimit)
        }
        encoder.etherType(0x0800)
        return encoder.beginIPv4(
            source: from.address.ipv4Value, destination: to.address.ipv4Value, protocolNumber: protocolNumber,
            timeToLive: from.hopLimit, identification: UInt16(truncatingIfNeeded: random.next()),
            dontFragment: dontFragment)
    }

    /// Completes the frame: transport checksum, IP lengths, Ethernet padding.
    mutating func finish(_ flow: FlowContext, fromClient: Bool, ipStart: Int, transportStart: Int, kind: TransportKind) {
        let from = fromClient ? flow.client : flow.server
        let to = fromClient ? flow.server : flow.client
        let pseudo = kind == .icmp ? 0 : FrameEncoder.pseudoHeaderSum(source: from.address, destination: to.address, ipv4: !flow.ipv6)
        encoder.finishTransport(kind, at: transportStart, pseudoHeader: pseudo)
        if flow.ipv6 { encoder.finishIPv6(at: ipStart) } else { encoder.finishIPv4(at: ipStart) }
        encoder.pad(toMinimum: 60)
    }

    /// Appends `count` pseudo-random payload bytes.
    mutating func appendPoolBytes(_ count: Int) {
        guard count > 0 else { return }
        let start = random.below(Self.poolSize - 2048)
        var remaining = count
        var offset = start
        pool.withUnsafeBytes { raw in
            while remaining > 0 {
                let n = min(remaining, raw.count - offset)
                encoder.append(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]))
                remaining -= n
                offset = 0
            }
        }
    }

    /// Appends the UTF-8 bytes of a string.
    mutating func appendText(_ text: String) {
        var copy = text
        copy.withUTF8 { encoder.append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `count` filler characters (lowercase letters) for padding text fields.
    mutating func appendFiller(_ count: Int) {
        for i in 0..<max(0, count) { encoder.appendU8(0x61 + UInt8(i % 26)) }
    }

    /// Appends a decimal number as text.
    mutating func appendDecimal(_ value: Int) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            encoder.appendU8(0x30 + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Number of decimal digits of a non-negative value.
    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 { rest /= 10; digits += 1 }
        return digits
    }
}
