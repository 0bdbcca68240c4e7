import SidetapCapture
import SidetapCore
import SidetapTestKit
import Synchronization
import Testing

/// A source over packets held in memory, for pacing tests.
final class ArraySource: PacketSource {
    let timestamps: [Int64]
    let payload: UnsafeMutableRawBufferPointer
    var next = 0
    var stopped = false
    var opened = 0
    var closed = 0

    init(timestamps: [Int64]) {
        self.timestamps = timestamps
        payload = .allocate(byteCount: 64, alignment: 8)
        payload.initializeMemory(as: UInt8.self, repeating: 0xAB)
    }

    deinit { payload.deallocate() }

    var description: SourceDescription { SourceDescription(name: "array", linkType: .ethernet, snaplen: 64, origin: "memory") }
    var bytesOutliveDelivery: Bool { true }
    func open() throws { opened += 1 }
    func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        if stopped || next == timestamps.count { return .endOfInput }
        var count = 0
        while count < limit && next < timestamps.count {
            deliver(CapturedPacket(bytes: UnsafeRawBufferPointer(payload), wireLength: 64, timestampNanos: timestamps[next]))
            next += 1
            count += 1
        }
        return .delivered(count)
    }
    func stop() { stopped = true }
    func close() { closed += 1 }
    var statistics: SourceStatistics {
        var statistics = SourceStatistics()
        statistics.delivered = UInt64(next)
        return statistics
    }
    var lastProblem: String? { "array problem" }
}

@Suite struct PacedSourceTests {
    @Test func pacesAWrappedSourceOnAManualClock() throws {
        let clock = ManualTimeSource(monotonicNanos: 1_000)
        let sleeper = FakeSleeper(clock: clock)
        let inner = ArraySource(timestamps: [100, 2_000_100, 3_000_100, 3_000_100, 9_000_100])
        let paced = try PacedSource(inner, .multiplier(2), timeSource: clock, sleep: sleeper.sleep)
        #expect(paced.description == inner.description)
        #expect(paced.bytesOutliveDelivery)
        try paced.open()
        #expect(inner.opened == 1)
        var times: [Int64] = []
        while try paced.poll(limit: 2, { _ in times.append(clock.monotonicNanos() - 1_000) }) != .endOfInput {}
        #expect(times == [0, 1_000_000, 1_500_000, 1_500_000, 4_500_000])
        #expect(paced.statistics.delivered == 5)
        #expect(paced.lastProblem == "array problem")
        paced.close()
        #expect(inner.closed == 1)
    }

    @Test func stopInterruptsAWaitAndEndsTheInput() throws {
        let clock = ManualTimeSource()
        let sleeper = FakeSleeper(clock: clock)
        let inner = ArraySource(timestamps: [0, 60_000_000_000, 120_000_000_000, 180_000_000_000])
        var paced: PacedSource?
        paced = try PacedSource(inner, .original, timeSource: clock) { deadline in
            sleeper.sleep(deadline)
            if sleeper.deadlines.count == 2 { paced?.stop() }
        }
        let source = try #require(paced)
        try source.open()
        var delivered = 0
        #expect(try source.poll(limit: 10) { _ in delivered += 1 } == .delivered(4))
        // Two 20 ms slices were slept before the stop; the rest of the batch went out at once.
        #expect(sleeper.deadlines.count == 2)
        #expect(clock.monotonicNanos() == 40_000_000)
        #expect(try source.poll(limit: 10) { _ in } == .endOfInput)
        #expect(inner.stopped)
        paced = nil
    }

    @Test func topSpeedPassesStraightThrough() throws {
        let clock = ManualTimeSource()
        let sleeper = FakeSleeper(clock: clock)
        let paced = try PacedSource(ArraySource(timestamps: [0, 1_000_000_000, 2_000_000_000]), .topSpeed, timeSource: clock, sleep: sleeper.sleep)
        try paced.open()
        #expect(try paced.poll(limit: 10) { _ in } == .delivered(3))
        #expect(sleeper.deadlines.isEmpty)
    }

    /// The production sleep on the real clock, kept short: 40 packets 5 ms apart at ×2
    /// (about 98 ms), then 30 packets at 500 pps (58 ms).
    @Test func realClockSanity() throws {
        let system = SystemTimeSource.shared
        let original = try PacedSource(ArraySource(timestamps: (0..<40).map { Int64($0) * 5_000_000 }), .multiplier(2))
        try original.open()
        // The schedule starts inside the first poll, so no packet can be released before
        // `begin` + its offset; lateness is bounded generously (this machine may be busy).
        let begin = system.monotonicNanos()
        var last: Int64 = 0
        while try original.poll(limit: 8, { _ in last = system.monotonicNanos() }) != .endOfInput {}
        let elapsed = last - begin
        #expect(elapsed >= 97_500_000, "finished early: \(elapsed) ns")
        #expect(elapsed < 97_500_000 + 150_000_000, "far too slow: \(elapsed) ns")
        #expect(original.pacer.maximumLatenessNanos < 100_000_000)

        let rate = try PacedSource(ArraySource(timestamps: Array(repeating: 0, count: 30)), .packetsPerSecond(500))
        try rate.open()
        let rateBegin = system.monotonicNanos()
        while try rate.poll(limit: 4, { _ in }) != .endOfInput {}
        let took = system.monotonicNanos() - rateBegin
        #expect(took >= 58_000_000 && took < 58_000_000 + 150_000_000, "\(took) ns")
    }

    /// A real clock with another origin: the default sleep translates its deadlines.
    final class ShiftedClock: TimeSource {
        func monotonicNanos() -> Int64 { SystemTimeSource.shared.monotonicNanos() + 3_600_000_000_000 }
        func wallNanos() -> Int64 { SystemTimeSource.shared.wallNanos() }
    }

    @Test func defaultSleepFollowsAnotherRealClock() throws {
        let pacer = try ReplayPacer(.original, timeSource: ShiftedClock())
        let begin = SystemTimeSource.shared.monotonicNanos()
        for i in 0..<5 { pacer.wait(timestampNanos: Int64(i) * 5_000_000, wireLength: 60) }
        let took = SystemTimeSource.shared.monotonicNanos() - begin
        #expect(took >= 20_000_000 && took < 20_000_000 + 150_000_000, "\(took) ns")
    }

    @Test func precisionSleepReachesTheDeadline() {
        let system = SystemTimeSource.shared
        #expect(PrecisionSleep.setTimerSlack(nanos: 1))
        var lateness: [Int64] = []
        for _ in 0..<21 {
            let deadline = system.monotonicNanos() + 1_000_000
            PrecisionSleep.sleep(untilMonotonic: deadline)
            lateness.append(system.monotonicNanos() - deadline)
        }
        lateness.sort()
        #expect(lateness[0] >= 0, "woke before the deadline")
        // The median, not the worst: on a busy 2-core machine a wake-up can wait for a CPU.
        #expect(lateness[10] < 2_000_000, "median lateness \(lateness[10]) ns")
    }
}
