import SidetapCore
import SidetapTestKit
import Testing

/// Token bucket accuracy and burst bounds on a manual clock.
@Suite struct TokenBucketTests {
    /// Offers packets every `gapNanos` for `seconds`, sizes from `size`; returns the admitted
    /// (time, bytes) pairs.
    static func run(
        _ bucket: inout TokenBucket, clock: ManualTimeSource, seconds: Int64, gapNanos: Int64,
        size: (Int) -> Int = { _ in 100 }
    ) -> [(time: Int64, bytes: Int)] {
        var admitted: [(time: Int64, bytes: Int)] = []
        let end = clock.monotonicNanos() + seconds * 1_000_000_000
        var index = 0
        while clock.monotonicNanos() < end {
            let bytes = size(index)
            let now = clock.monotonicNanos()
            if bucket.admit(wireBytes: bytes, nowNanos: now) { admitted.append((now, bytes)) }
            clock.advance(nanos: gapNanos)
            index += 1
        }
        return admitted
    }

    /// The largest amount admitted in any closed window [t, t + W] starting at an admission.
    static func largestInWindow(_ admitted: [(time: Int64, bytes: Int)], windowNanos: Int64, weight: (Int) -> Double) -> Double {
        var largest = 0.0
        var end = 0
        var sum = 0.0
        for start in admitted.indices {
            if start > 0 { sum -= weight(admitted[start - 1].bytes) }
            if end < start { end = start; sum = 0 }
            while end < admitted.count, admitted[end].time - admitted[start].time <= windowNanos {
                sum += weight(admitted[end].bytes)
                end += 1
            }
            largest = max(largest, sum)
        }
        return largest
    }

    /// `bucket.admit` outside the #expect macro's captured values.
    static func admit(_ bucket: inout TokenBucket, wireBytes: Int, nowNanos: Int64) -> Bool {
        bucket.admit(wireBytes: wireBytes, nowNanos: nowNanos)
    }

    static let windows: [Int64] = [1_000_000, 10_000_000, 100_000_000, 1_000_000_000]

    @Test func packetRateIsAccurateAndBurstBounded() {
        let clock = ManualTimeSource()
        let rate = 10_000.0
        var bucket = TokenBucket(packetsPerSecond: rate, bitsPerSecond: nil, nowNanos: clock.monotonicNanos())
        // Offer 2.3× the rate for 60 s, at an uneven gap.
        let admitted = Self.run(&bucket, clock: clock, seconds: 60, gapNanos: 43_479)
        let measured = Double(admitted.count - 100) / 60   // minus the initial burst of 100
        #expect(abs(measured - rate) / rate < 0.001, "measured \(measured) pps")
        for window in Self.windows {
            let largest = Self.largestInWindow(admitted, windowNanos: window, weight: { _ in 1 })
            #expect(largest <= rate * Double(window) / 1e9 + 100, "window \(window) ns admitted \(largest)")
        }
    }

    @Test func bitRateIsAccurateAndBurstBounded() {
        let clock = ManualTimeSource(monotonicNanos: 5_000_000_000)
        let rate = 8_000_000.0   // 1 MB/s, default burst 10 000 bytes
        var bucket = TokenBucket(packetsPerSecond: nil, bitsPerSecond: rate, nowNanos: clock.monotonicNanos())
        let sizes = [60, 1514, 576, 1000, 64, 1300, 90, 1514]
        let admitted = Self.run(&bucket, clock: clock, seconds: 60, gapNanos: 300_001, size: { sizes[$0 % sizes.count] })
        let bits = Double(admitted.reduce(0) { $0 + $1.bytes } * 8 - 10_000 * 8)
        let measured = bits / 60
        #expect(abs(measured - rate) / rate < 0.001, "measured \(measured) bps")
        for window in Self.windows {
            let largest = Self.largestInWindow(admitted, windowNanos: window, weight: { Double($0 * 8) })
            #expect(largest <= rate * Double(window) / 1e9 + 10_000 * 8, "window \(window) ns admitted \(largest) bits")
        }
    }

    @Test func bothLimitsTheTighterOneWins() {
        // 1000-byte packets: 4 Mbps allows 500 pps, below the 1000 pps limit.
        let clock = ManualTimeSource()
        var bucket = TokenBucket(packetsPerSecond: 1000, bitsPerSecond: 4_000_000, burstPackets: 10, burstBytes: 10_000,
                                 nowNanos: 0)
        let large = Self.run(&bucket, clock: clock, seconds: 100, gapNanos: 250_000, size: { _ in 1000 })
        #expect(abs(Double(large.count - 10) / 100 - 500) / 500 < 0.001, "\(large.count)")
        // 100-byte packets: 4 Mbps would allow 5000 pps; the 1000 pps limit binds.
        var second = TokenBucket(packetsPerSecond: 1000, bitsPerSecond: 4_000_000, burstPackets: 10, burstBytes: 10_000,
                                 nowNanos: clock.monotonicNanos())
        let small = Self.run(&second, clock: clock, seconds: 100, gapNanos: 250_000, size: { _ in 100 })
        #expect(abs(Double(small.count - 10) / 100 - 1000) / 1000 < 0.001, "\(small.count)")
        for window in Self.windows {
            #expect(Self.largestInWindow(small, windowNanos: window, weight: { _ in 1 }) <= 1000 * Double(window) / 1e9 + 10)
            #expect(Self.largestInWindow(large, windowNanos: window, weight: { Double($0) })
                    <= 500_000 * Double(window) / 1e9 + 10_000)
        }
    }

    @Test func bucketsStartFullWithTenMillisecondDefaultBursts() {
        var packets = TokenBucket(packetsPerSecond: 10_000, bitsPerSecond: nil, nowNanos: 7)
        let burst = (0..<150).filter { _ in packets.admit(wireBytes: 60, nowNanos: 7) }.count
        #expect(burst == 100)
        var bytes = TokenBucket(packetsPerSecond: nil, bitsPerSecond: 8_000_000, nowNanos: 7)
        let tenThousandBytes = (0..<50).filter { _ in bytes.admit(wireBytes: 1000, nowNanos: 7) }.count
        #expect(tenThousandBytes == 10)
        var slow = TokenBucket(packetsPerSecond: 50, bitsPerSecond: 80_000, nowNanos: 0)
        // Minimums: one packet, 1514 bytes.
        #expect(Self.admit(&slow, wireBytes: 1514, nowNanos: 0))
        #expect(!Self.admit(&slow, wireBytes: 1, nowNanos: 0))
        // 20 ms later: one packet token back (50 pps), bytes 200 of 1514 back → a 200-byte packet fits.
        #expect(!Self.admit(&slow, wireBytes: 201, nowNanos: 20_000_000))
        #expect(Self.admit(&slow, wireBytes: 200, nowNanos: 20_000_000))
    }

    @Test func fractionalRatesDoNotDriftOverLongRuns() {
        // 0.5 pps over 10 000 s, offered every 10 ms: 1 (burst) + 5000.
        var half = TokenBucket(packetsPerSecond: 0.5, bitsPerSecond: nil, nowNanos: 0)
        var admitted = 0
        var now: Int64 = 0
        while now <= 10_000_000_000_000 {
            if half.admit(wireBytes: 60, nowNanos: now) { admitted += 1 }
            now += 10_000_000
        }
        #expect(admitted == 5001)
        // 3333.333 pps (default burst 33) drained every 5 ms for an hour of simulated time:
        // exactly burst + rate × time, no drift.
        var odd = TokenBucket(packetsPerSecond: 3333.333, bitsPerSecond: nil, nowNanos: 0)
        var count = 0
        now = 0
        let end: Int64 = 3600 * 1_000_000_000
        while now <= end {
            while odd.admit(wireBytes: 60, nowNanos: now) { count += 1 }
            now += 5_000_000
        }
        let expected = 33 + 3333.333 * 3600
        #expect(abs(Double(count) - expected) <= 1, "\(count) vs \(expected)")
    }

    @Test func packetLargerThanTheByteBurstPassesOnlyFromAFullBucket() {
        var bucket = TokenBucket(packetsPerSecond: nil, bitsPerSecond: 80_000, burstBytes: 1000, nowNanos: 0)   // 10 kB/s
        #expect(Self.admit(&bucket, wireBytes: 9000, nowNanos: 0))        // full: passes, 8000 bytes in debt
        #expect(!Self.admit(&bucket, wireBytes: 60, nowNanos: 100_000_000))   // 1000 bytes back: still in debt
        #expect(!Self.admit(&bucket, wireBytes: 9000, nowNanos: 800_000_000)) // not full yet
        #expect(Self.admit(&bucket, wireBytes: 60, nowNanos: 806_000_000))    // 60 bytes available again
        #expect(!Self.admit(&bucket, wireBytes: 9000, nowNanos: 850_000_000))
        #expect(Self.admit(&bucket, wireBytes: 9000, nowNanos: 1_000_000_000))   // full again
    }

    @Test func withoutRatesEverythingPasses() {
        var bucket = TokenBucket(packetsPerSecond: nil, bitsPerSecond: nil, burstPackets: 1, burstBytes: 1, nowNanos: 0)
        #expect(bucket.isUnlimited)
        let all = (0..<10_000).allSatisfy { _ in bucket.admit(wireBytes: 65_535, nowNanos: 0) }
        #expect(all)
        let limited = TokenBucket(packetsPerSecond: 1, bitsPerSecond: nil, nowNanos: 0)
        #expect(!limited.isUnlimited)
    }

    @Test func clockGoingBackwardsAddsNoTokens() {
        var bucket = TokenBucket(packetsPerSecond: 10, bitsPerSecond: nil, burstPackets: 1, nowNanos: 1_000_000_000)
        #expect(Self.admit(&bucket, wireBytes: 1, nowNanos: 1_000_000_000))
        #expect(!Self.admit(&bucket, wireBytes: 1, nowNanos: 0))
        #expect(!Self.admit(&bucket, wireBytes: 1, nowNanos: 1_050_000_000))
        #expect(Self.admit(&bucket, wireBytes: 1, nowNanos: 1_100_000_000))
    }

    /// A batch sent late (the port's thread was preempted between admitting and sending) must
    /// not be followed at once by a refilled bucket: what leaves together is at most the burst.
    @Test func aLateBatchLeavesTheBucketEmptied() {
        let clock = ManualTimeSource(monotonicNanos: 1_000_000_000)
        var bucket = TokenBucket(packetsPerSecond: 10_000, bitsPerSecond: nil, burstPackets: 10, nowNanos: clock.monotonicNanos())
        for _ in 0..<10 {
            let admitted = bucket.admit(wireBytes: 100, nowNanos: clock.monotonicNanos())
            #expect(admitted)
        }
        var refused = !bucket.admit(wireBytes: 100, nowNanos: clock.monotonicNanos())
        #expect(refused)
        // The ten go out 2.5 ms late, together: the bucket has refilled to ten meanwhile.
        clock.advance(nanos: 2_500_000)
        bucket.sentTogether(packets: 10, wireBytes: 1_000, nowNanos: clock.monotonicNanos())
        refused = !bucket.admit(wireBytes: 100, nowNanos: clock.monotonicNanos())
        #expect(refused)
        #expect(bucket.nanosUntilAdmissible(wireBytes: 100, nowNanos: clock.monotonicNanos()) == 100_000)
        clock.advance(nanos: 100_000)
        let admittedAgain = bucket.admit(wireBytes: 100, nowNanos: clock.monotonicNanos())
        #expect(admittedAgain)
    }

    /// Sends on time keep the rate: admitting each packet as it comes and sending it 2 µs later
    /// gives the same rate as without the accounting. (Not the same schedule to the
    /// nanosecond: while the bucket is full, a send 2 µs after admission forgoes 2 µs of
    /// refill, as a bucket debited on the wire would.)
    @Test func onTimeSendsKeepTheRate() {
        let clock = ManualTimeSource(monotonicNanos: 0)
        var plain = TokenBucket(packetsPerSecond: 10_000, bitsPerSecond: 50_000_000, burstPackets: 10, burstBytes: 62_500, nowNanos: 0)
        var accounted = plain
        var plainCount = 0, accountedCount = 0
        for _ in 0..<200_000 {    // a packet offered every 5 µs for one second
            let now = clock.monotonicNanos()
            if plain.admit(wireBytes: 600, nowNanos: now) { plainCount += 1 }
            if accounted.admit(wireBytes: 600, nowNanos: now) {
                accountedCount += 1
                accounted.sentTogether(packets: 1, wireBytes: 600, nowNanos: now + 2_000)
            }
            clock.advance(nanos: 5_000)
        }
        #expect(plainCount >= 10_000 && plainCount <= 10_010)
        #expect(abs(accountedCount - plainCount) <= 1, "accounted \(accountedCount), plain \(plainCount)")
    }

    /// The byte bucket is cut the same way, and a batch larger than the bucket leaves it empty,
    /// not in debt.
    @Test func theByteBucketIsCutAndNeverGoesIntoDebt() {
        let clock = ManualTimeSource(monotonicNanos: 0)
        var bucket = TokenBucket(packetsPerSecond: nil, bitsPerSecond: 8_000_000, burstBytes: 10_000, nowNanos: 0)
        for _ in 0..<10 {
            let admitted = bucket.admit(wireBytes: 1_000, nowNanos: 0)
            #expect(admitted)
        }
        clock.advance(nanos: 50_000_000)   // refilled to 10,000 bytes and capped
        bucket.sentTogether(packets: 10, wireBytes: 25_000, nowNanos: clock.monotonicNanos())
        // Empty, not 15,000 bytes in debt: the next 1,000 bytes wait 1 ms at 1 MB/s.
        #expect(bucket.nanosUntilAdmissible(wireBytes: 1_000, nowNanos: clock.monotonicNanos()) == 1_000_000)
    }
}
