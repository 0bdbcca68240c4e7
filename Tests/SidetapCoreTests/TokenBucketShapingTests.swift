import SidetapCore
import Testing

/// `nanosUntilAdmissible` is what a shaping port sleeps: following it packet after packet must
/// give exactly the configured rate, and it must agree with `admit`.
@Suite struct TokenBucketShapingTests {
    /// Sends `count` packets as early as the bucket allows; returns their send times.
    func shapedSchedule(_ bucket: inout TokenBucket, count: Int, bytes: Int, start: Int64) -> [Int64] {
        var now = start
        var times: [Int64] = []
        for _ in 0..<count {
            let wait = bucket.nanosUntilAdmissible(wireBytes: bytes, nowNanos: now)
            #expect(wait >= 0 && wait < 1_000_000_000)
            if wait > 0 {
                let early = bucket.admit(wireBytes: bytes, nowNanos: now)
                #expect(!early, "admit must refuse while a wait is due")
                now += wait
            }
            #expect(bucket.nanosUntilAdmissible(wireBytes: bytes, nowNanos: now) == 0)
            let admitted = bucket.admit(wireBytes: bytes, nowNanos: now)
            #expect(admitted)
            times.append(now)
        }
        return times
    }

    @Test func packetShapingPacesAtTheRateAfterTheBurst() {
        var bucket = TokenBucket(packetsPerSecond: 10_000, bitsPerSecond: nil, burstPackets: 5, burstBytes: nil, nowNanos: 0)
        let times = shapedSchedule(&bucket, count: 10_005, bytes: 100, start: 0)
        // The burst goes at once, then one packet every 100 µs.
        #expect(times.prefix(5).allSatisfy { $0 == 0 })
        for i in 5..<times.count {
            #expect(times[i] - times[i - 1] == 100_000, "gap \(i)")
        }
        // 10,000 paced packets take exactly one second.
        #expect(times.last! == 1_000_000_000)
    }

    @Test func bitShapingChargesEachPacketsSize() {
        // 8 Mbit/s = 1 byte per µs; a 1000-byte burst: two 500-byte packets go at once, the
        // third waits 500 µs; a 1000-byte packet then needs 1000 µs of refill.
        var bucket = TokenBucket(packetsPerSecond: nil, bitsPerSecond: 8e6, burstPackets: nil, burstBytes: 1000, nowNanos: 0)
        let small = shapedSchedule(&bucket, count: 3, bytes: 500, start: 0)
        #expect(small == [0, 0, 500_000])
        let large = shapedSchedule(&bucket, count: 2, bytes: 1000, start: small.last!)
        #expect(large == [1_500_000, 2_500_000])
    }

    @Test func aZeroRateNeverAdmitsAfterTheBurst() {
        var bucket = TokenBucket(packetsPerSecond: 0, bitsPerSecond: nil, burstPackets: 1, burstBytes: nil, nowNanos: 0)
        let first = bucket.admit(wireBytes: 60, nowNanos: 0)
        #expect(first)
        #expect(bucket.nanosUntilAdmissible(wireBytes: 60, nowNanos: 5) == .max)
    }

    @Test func unlimitedNeverWaits() {
        let bucket = TokenBucket(packetsPerSecond: nil, bitsPerSecond: nil, nowNanos: 0)
        #expect(bucket.nanosUntilAdmissible(wireBytes: 1500, nowNanos: 0) == 0)
    }
}
