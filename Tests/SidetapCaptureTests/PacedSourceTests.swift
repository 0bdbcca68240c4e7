import Foundation
import SidetapCapture
import SidetapCore
import SidetapTestKit
import Synchronization
import Testing

/// A source over packets held in memory, for pacing tests. Packet i's bytes are all `i`;
/// when `outlives` is false every delivery reuses (and overwrites) one buffer, like libpcap.
final class ArraySource: PacketSource {
    let timestamps: [Int64]
    let outlives: Bool
    let buffers: UnsafeMutableRawBufferPointer
    var next = 0
    var stopped = false
    var opened = 0
    var closed = 0

    init(timestamps: [Int64], outlives: Bool = true) {
        self.timestamps = timestamps
        self.outlives = outlives
        buffers = .allocate(byteCount: 64 * max(1, timestamps.count), alignment: 8)
        buffers.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffers.deallocate() }

    var description: SourceDescription { SourceDescription(name: "array", linkType: .ethernet, snaplen: 64, origin: "memory") }
    var bytesOutliveDelivery: Bool { outlives }
    func open() throws { opened += 1 }
    func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        if stopped || next == timestamps.count { return .endOfInput }
        var count = 0
        while count < limit && next < timestamps.count {
            let slot = UnsafeMutableRawBufferPointer(rebasing: buffers[(outlives ? next * 64 : 0)..<(outlives ? next * 64 : 0) + 64])
            slot.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: next))
            deliver(CapturedPacket(bytes: UnsafeRawBufferPointer(slot), wireLength: 64, timestampNanos: timestamps[next]))
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
    @Test(arguments: [true, false])
    func pacesAWrappedSourceOnAManualClock(outlives: Bool) throws {
        let clock = ManualTimeSource(monotonicNanos: 1_000)
        let sleeper = FakeSleeper(clock: clock)
        let inner = ArraySource(timestamps: [100, 2_000_100, 3_000_100, 3_000_100, 9_000_100], outlives: outlives)
        let paced = try PacedSource(inner, .multiplier(2), timeSource: clock, sleep: sleeper.sleep)
        #expect(paced.description == inner.description)
        #expect(paced.bytesOutliveDelivery == outlives)
        try paced.open()
        #expect(inner.opened == 1)
        var times: [Int64] = []
        var contents: [[UInt8]] = []
        var outcomes: [SourcePoll] = []
        while true {
            let outcome = try paced.poll(limit: 2) { packet in
                times.append(clock.monotonicNanos() - 1_000)
                contents.append(Array(packet.bytes))
            }
            outcomes.append(outcome)
            if outcome == .endOfInput { break }
        }
        #expect(times == [0, 1_000_000, 1_500_000, 1_500_000, 4_500_000])
        // A poll hands over what is due and returns before waiting for the next packet.
        #expect(outcomes == [.delivered(1), .delivered(1), .delivered(2), .delivered(1), .endOfInput])
        // The packet read ahead kept its own bytes even when the source reused its buffer.
        #expect(contents == (0..<5).map { [UInt8](repeating: UInt8($0), count: 64) })
        #expect(paced.statistics.delivered == 5)
        #expect(paced.lastProblem == "array problem")
        paced.close()
        #expect(inner.closed == 1)
    }

    @Test func pacedLibpcapSourceDeliversTheSameBytes() throws {
        var file = PcapFileBuilder()
        for i in 0..<50 { file.packet(seconds: 100, fraction: UInt32(i * 10), data: pattern(60 + i * 13, seed: UInt8(i))) }
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let direct = try readAll(PcapFileSource(path: path, name: "d"))
        let clock = ManualTimeSource()
        let sleeper = FakeSleeper(clock: clock)
        let paced = try readAll(PacedSource(PcapFileSource(path: path, name: "p"), .original, timeSource: clock, sleep: sleeper.sleep), limit: 8)
        #expect(paced == direct)
        #expect(clock.monotonicNanos() == 490_000)
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
        #expect(try source.poll(limit: 10) { _ in } == .delivered(1))
        // The second packet is due in a minute: two 20 ms slices pass, then the stop releases it.
        #expect(try source.poll(limit: 10) { _ in } == .delivered(1))
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
