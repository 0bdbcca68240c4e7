import SidetapCapture
import SidetapCore
import SidetapTestKit
import Testing

/// A manual clock and a sleep that moves it to the deadline (plus an optional oversleep),
/// recording every deadline asked for.
final class FakeSleeper {
    let clock: ManualTimeSource
    var deadlines: [Int64] = []
    var oversleep: (Int) -> Int64 = { _ in 0 }

    init(clock: ManualTimeSource) { self.clock = clock }

    func sleep(_ deadline: Int64) {
        deadlines.append(deadline)
        let target = deadline + oversleep(deadlines.count)
        let now = clock.monotonicNanos()
        if target > now { clock.advance(nanos: target - now) }
    }
}

@Suite struct ReplayPacerTests {
    static let start: Int64 = 7_000_000_000
    static let epoch: Int64 = 1_700_000_000_000_000_000

    /// Paces `packets` (timestamp offset, wire length) and returns each release time
    /// relative to the first.
    func releases(_ pacing: ReplayPacing, _ packets: [(Int64, UInt32)], work: Int64 = 0) throws -> [Int64] {
        let clock = ManualTimeSource(monotonicNanos: Self.start)
        let sleeper = FakeSleeper(clock: clock)
        let pacer = try ReplayPacer(pacing, timeSource: clock, sleep: sleeper.sleep)
        var times: [Int64] = []
        for (offset, length) in packets {
            #expect(pacer.wait(timestampNanos: Self.epoch + offset, wireLength: length))
            times.append(clock.monotonicNanos() - Self.start)
            if work > 0 { clock.advance(nanos: work) }
        }
        return times
    }

    static let capture: [(Int64, UInt32)] = [
        (0, 60), (1_000_000, 60), (1_500_000, 1514), (1_500_000, 60), (10_000_000_000, 60), (10_000_000_333, 60),
    ]

    @Test func originalTiming() throws {
        #expect(try releases(.original, Self.capture) == Self.capture.map(\.0))
    }

    @Test func twiceAsFast() throws {
        #expect(try releases(.multiplier(2), Self.capture) == [0, 500_000, 750_000, 750_000, 5_000_000_000, 5_000_000_167])
    }

    @Test func halfSpeed() throws {
        #expect(try releases(.multiplier(0.5), Self.capture) == Self.capture.map { $0.0 * 2 })
    }

    @Test func fixedPacketRate() throws {
        #expect(try releases(.packetsPerSecond(1000), Self.capture) == (0..<6).map { Int64($0) * 1_000_000 })
        // A rate that does not divide a second: each due time is rounded, never accumulated.
        #expect(try releases(.packetsPerSecond(3), Self.capture) == [0, 333_333_333, 666_666_667, 1_000_000_000, 1_333_333_333, 1_666_666_667])
    }

    @Test func fixedBitRate() throws {
        // 1 Mbit/s: a 60-byte packet takes 480 µs, a 1514-byte one 12.112 ms.
        #expect(try releases(.megabitsPerSecond(1), Self.capture) == [0, 480_000, 960_000, 13_072_000, 13_552_000, 14_032_000])
    }

    @Test func topSpeedNeverWaits() throws {
        let clock = ManualTimeSource(monotonicNanos: Self.start)
        let sleeper = FakeSleeper(clock: clock)
        let pacer = try ReplayPacer(.topSpeed, timeSource: clock, sleep: sleeper.sleep)
        for (offset, length) in Self.capture { pacer.wait(timestampNanos: offset, wireLength: length) }
        #expect(sleeper.deadlines.isEmpty)
        #expect(clock.monotonicNanos() == Self.start)
    }

    @Test func timestampsGoingBackwardsAreReleasedAtOnce() throws {
        let packets: [(Int64, UInt32)] = [(0, 60), (5_000_000, 60), (1_000_000, 60), (6_000_000, 60)]
        #expect(try releases(.original, packets) == [0, 5_000_000, 5_000_000, 6_000_000])
    }

    @Test func slowConsumerCatchesUpInsteadOfShiftingTheSchedule() throws {
        // Each packet takes 1.5 ms to handle while they are due every 1 ms: releases fall
        // behind, but never wait, and a later gap brings the schedule back exactly.
        let packets: [(Int64, UInt32)] = [(0, 60), (1_000_000, 60), (2_000_000, 60), (3_000_000, 60), (20_000_000, 60)]
        #expect(try releases(.original, packets, work: 1_500_000) == [0, 1_500_000, 3_000_000, 4_500_000, 20_000_000])
    }

    @Test func longRunsDoNotDrift() throws {
        // 1,000,000 packets at 10 kpps with every wake-up up to 80 µs late and 20 µs of work
        // per packet: each release stays within the oversleep of its ideal time, to the end.
        let clock = ManualTimeSource(monotonicNanos: Self.start)
        let sleeper = FakeSleeper(clock: clock)
        var state: UInt64 = 0x1234_5678
        sleeper.oversleep = { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64(state >> 33) % 80_000
        }
        let pacer = try ReplayPacer(.original, timeSource: clock, sleep: sleeper.sleep)
        var worst: Int64 = 0
        var early = 0
        let count = 1_000_000
        for i in 0..<count {
            let ideal = Int64(i) * 100_000
            pacer.wait(timestampNanos: Self.epoch + ideal, wireLength: 60)
            let deviation = clock.monotonicNanos() - Self.start - ideal
            if deviation < 0 { early += 1 }
            worst = max(worst, deviation)
            clock.advance(nanos: 20_000)
        }
        #expect(early == 0)
        #expect(worst < 80_000)
        #expect(pacer.maximumLatenessNanos < 80_000)
        let end = clock.monotonicNanos() - Self.start
        #expect(end >= Int64(count - 1) * 100_000 && end < Int64(count - 1) * 100_000 + 100_000)
    }

    @Test func longGapsAreSleptInSlicesAndAStopCutsThemShort() throws {
        let clock = ManualTimeSource(monotonicNanos: Self.start)
        let sleeper = FakeSleeper(clock: clock)
        let pacer = try ReplayPacer(.original, timeSource: clock, maximumSleepNanos: 20_000_000, sleep: sleeper.sleep)
        #expect(pacer.wait(timestampNanos: 0, wireLength: 60))
        #expect(pacer.wait(timestampNanos: 1_000_000_000, wireLength: 60))
        #expect(sleeper.deadlines.count == 50)
        #expect(sleeper.deadlines.last == Self.start + 1_000_000_000)
        sleeper.deadlines = []
        let stopped = pacer.wait(timestampNanos: 2_000_000_000, wireLength: 60) { sleeper.deadlines.count >= 3 }
        #expect(!stopped)
        #expect(sleeper.deadlines.count == 3)
        #expect(clock.monotonicNanos() == Self.start + 1_060_000_000)
    }

    @Test(arguments: [
        ReplayPacing.multiplier(0), .multiplier(-1), .multiplier(.nan), .multiplier(.infinity),
        .packetsPerSecond(0), .megabitsPerSecond(-5),
    ])
    func invalidPacingIsRejected(_ pacing: ReplayPacing) {
        #expect(throws: ReplayPacingError.self) { try ReplayPacer(pacing, timeSource: ManualTimeSource()) }
    }

    @Test func resetStartsANewSchedule() throws {
        let clock = ManualTimeSource(monotonicNanos: Self.start)
        let sleeper = FakeSleeper(clock: clock)
        let pacer = try ReplayPacer(.original, timeSource: clock, sleep: sleeper.sleep)
        pacer.wait(timestampNanos: 0, wireLength: 60)
        pacer.wait(timestampNanos: 1_000_000, wireLength: 60)
        clock.advance(nanos: 5_000_000)
        pacer.reset()
        let restart = clock.monotonicNanos()
        pacer.wait(timestampNanos: 500_000_000, wireLength: 60)
        pacer.wait(timestampNanos: 502_000_000, wireLength: 60)
        #expect(clock.monotonicNanos() == restart + 2_000_000)
    }
}
