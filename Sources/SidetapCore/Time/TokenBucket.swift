/// Rate limit for one port: a packets-per-second bucket and a bits-per-second bucket.
///
/// A packet passes only when every configured bucket has tokens for it; then it takes one
/// packet token and `8 × wireBytes` bit tokens. Buckets start full, refill continuously with
/// time and hold at most their burst. With no rate at all every packet passes.
///
/// **Which size counts.** `admit(wireBytes:)` takes the size to charge; the engine passes the
/// bytes the port actually writes for the packet (after slicing, before framing), so `bps`
/// bounds the traffic the port sends, not the traffic it saw.
///
/// **Bursts.** Default: 10 ms worth of rate — `max(1, pps / 100)` packets and
/// `max(1514, bps / 8 / 100)` bytes. A packet larger than the whole byte burst passes only
/// when the byte bucket is full and leaves it in debt, so such packets are not starved.
///
/// **Exactness.** Levels are 128-bit integers in units of 10⁻¹² token and rates are rounded
/// to 0.001 token per second, so a long run admits exactly `burst + rate × time` (to that
/// rounding) with no floating-point drift; in any window of length W at most
/// `rate × W + burst` is admitted. Rates above 10¹² per second are clamped; a rate of 0
/// admits the initial burst and nothing more.
///
/// `admit` does no allocation and no division: a few integer multiplies and compares.
public struct TokenBucket: Sendable {
    /// One token, in level units. (Computed, so it folds to a constant where `admit` is
    /// inlined instead of going through a lazy global's accessor.)
    @inlinable static var unit: Int128 { 1_000_000_000_000 }

    /// Level units added per nanosecond (= thousandths of a token per second).
    @usableFromInline let packetRate: Int128
    /// Largest packet level; 0 when packets are not limited.
    @usableFromInline let packetCapacity: Int128
    @usableFromInline var packetLevel: Int128
    @usableFromInline let bitRate: Int128
    /// Largest bit level; 0 when bits are not limited.
    @usableFromInline let bitCapacity: Int128
    @usableFromInline var bitLevel: Int128
    @usableFromInline var lastNanos: Int64

    /// True when neither rate is set: `admit` always returns true.
    public let isUnlimited: Bool

    /// A bucket pair with either or both limits (nil: that dimension is unlimited).
    ///
    /// - Parameters:
    ///   - packetsPerSecond: `pps`.
    ///   - bitsPerSecond: `bps`.
    ///   - burstPackets: packet bucket size; nil gives `max(1, pps / 100)`.
    ///   - burstBytes: byte bucket size; nil gives `max(1514, bps / 8 / 100)`.
    ///   - nowNanos: the monotonic time the buckets are full at.
    public init(
        packetsPerSecond: Double?, bitsPerSecond: Double?, burstPackets: Int? = nil, burstBytes: Int? = nil,
        nowNanos: Int64
    ) {
        lastNanos = nowNanos
        isUnlimited = packetsPerSecond == nil && bitsPerSecond == nil
        if let packetsPerSecond {
            let burst = burstPackets ?? Self.wholePart(packetsPerSecond / 100)
            packetRate = Self.fixedRate(packetsPerSecond)
            packetCapacity = Int128(max(1, burst)) * Self.unit
        } else {
            packetRate = 0
            packetCapacity = 0
        }
        if let bitsPerSecond {
            let burst = burstBytes ?? max(1514, Self.wholePart(bitsPerSecond / 8 / 100))
            bitRate = Self.fixedRate(bitsPerSecond)
            bitCapacity = Int128(max(1, burst)) * 8 * Self.unit
        } else {
            bitRate = 0
            bitCapacity = 0
        }
        packetLevel = packetCapacity
        bitLevel = bitCapacity
    }

    /// Whether a packet of `wireBytes` (the bytes the port writes for it) may go out at
    /// `nowNanos` (monotonic); if so its tokens are taken.
    @inlinable
    public mutating func admit(wireBytes: Int, nowNanos: Int64) -> Bool {
        if isUnlimited { return true }
        refill(to: nowNanos)
        if packetCapacity > 0, packetLevel < Self.unit { return false }
        let bitCost = Int128(max(0, wireBytes)) * 8 * Self.unit
        if bitCapacity > 0, bitLevel < min(bitCost, bitCapacity) { return false }
        if packetCapacity > 0 { packetLevel -= Self.unit }
        if bitCapacity > 0 { bitLevel -= bitCost }
        return true
    }

    /// How long from `nowNanos` until a packet of `wireBytes` would be admitted: 0 when it
    /// may go now; `Int64.max` when it never can (a rate of 0 with the bucket spent). Changes
    /// nothing — a shaping port sleeps this long, then calls `admit`.
    /// Accounts for `packets` packets (`wireBytes` bytes) admitted earlier that a batching
    /// port sent together at `nowNanos`. If the send came late (the thread was preempted
    /// between admitting and sending), the bucket refilled meanwhile although those packets
    /// had not left yet; leaving it full would let the next packets follow them at once, a
    /// burst on the wire larger than the bucket (seen: 19 packets within 40 µs at 10,000 pps,
    /// burst 10, after a 2.5 ms stall). So the level is cut to what a bucket that let them
    /// all go at this instant can hold: capacity minus them. A send on time changes nothing,
    /// as the level is then below that anyway.
    @inlinable
    public mutating func sentTogether(packets: Int, wireBytes: Int, nowNanos: Int64) {
        if isUnlimited || packets <= 0 { return }
        refill(to: nowNanos)
        // A batch larger than the bucket (the port's own batch limit under a large burst)
        // leaves it empty, never in debt.
        if packetCapacity > 0 { packetLevel = min(packetLevel, max(0, packetCapacity - Int128(packets) * Self.unit)) }
        if bitCapacity > 0 { bitLevel = min(bitLevel, max(0, bitCapacity - Int128(max(0, wireBytes)) * 8 * Self.unit)) }
    }

    /// Adds the tokens earned since the last refill, up to the capacities.
    @inlinable
    mutating func refill(to nowNanos: Int64) {
        guard nowNanos > lastNanos else { return }
        let elapsed = Int128(nowNanos) - Int128(lastNanos)
        lastNanos = nowNanos
        if packetCapacity > 0 { packetLevel = min(packetCapacity, packetLevel + elapsed * packetRate) }
        if bitCapacity > 0 { bitLevel = min(bitCapacity, bitLevel + elapsed * bitRate) }
    }

    @inlinable
    public func nanosUntilAdmissible(wireBytes: Int, nowNanos: Int64) -> Int64 {
        if isUnlimited { return 0 }
        let elapsed = nowNanos > lastNanos ? Int128(nowNanos) - Int128(lastNanos) : 0
        var wait: Int128 = 0
        if packetCapacity > 0 {
            let level = min(packetCapacity, packetLevel + elapsed * packetRate)
            if level < Self.unit {
                guard packetRate > 0 else { return .max }
                wait = max(wait, (Self.unit - level + packetRate - 1) / packetRate)
            }
        }
        if bitCapacity > 0 {
            let level = min(bitCapacity, bitLevel + elapsed * bitRate)
            let needed = min(Int128(max(0, wireBytes)) * 8 * Self.unit, bitCapacity)
            if level < needed {
                guard bitRate > 0 else { return .max }
                wait = max(wait, (needed - level + bitRate - 1) / bitRate)
            }
        }
        return wait > Int128(Int64.max) ? .max : Int64(wait)
    }

    /// A rate in tokens per second as level units per nanosecond (rounded to 0.001 token/s).
    static func fixedRate(_ perSecond: Double) -> Int128 {
        guard perSecond.isFinite || perSecond == .infinity, perSecond > 0 else { return 0 }
        return Int128(Int64((min(perSecond, 1e12) * 1000).rounded()))
    }

    /// The integer part of a non-negative value, clamped to Int (0 for NaN or negatives).
    static func wholePart(_ value: Double) -> Int {
        guard value.isFinite else { return value == .infinity ? Int.max / 1024 : 0 }
        return value <= 0 ? 0 : Int(min(value, Double(Int.max / 1024)))
    }
}
