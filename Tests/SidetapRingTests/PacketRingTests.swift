import Foundation
import SidetapRing
import Testing

@Suite struct PacketRingTests {
    @Test func pushPublishConsumeInOrder() {
        let ring = PacketRing(slots: 8, arenaBytes: 1024)
        var payload: [UInt8] = [1, 2, 3, 4, 5]
        for i in 0..<5 {
            payload[0] = UInt8(i)
            let ok = payload.withUnsafeBytes { ring.push($0, wireLength: 60, timestampNanos: Int64(i), sourceIndex: 3, copy: true) }
            #expect(ok)
        }
        // Not visible before publish.
        #expect(ring.consume(limit: 10) { _ in } == 0)
        ring.publish()
        var seen: [Int64] = []
        let n = ring.consume(limit: 10) { entry in
            seen.append(entry.timestampNanos)
            #expect(entry.buffer.count == 5)
            #expect(Int64(entry.buffer[0]) == entry.timestampNanos)
            #expect(entry.wireLength == 60)
            #expect(entry.sourceIndex == 3)
        }
        #expect(n == 5)
        #expect(seen == [0, 1, 2, 3, 4])
        #expect(ring.isEmpty)
    }

    /// What the producer learns about what its consumer still holds: the bytes of the oldest
    /// unreleased packet (the caller's own pointer when it was not copied), nil once empty.
    @Test func oldestPendingBytesFollowsTheConsumer() {
        let ring = PacketRing(slots: 8, arenaBytes: 0)
        let data: [UInt8] = Array(0..<64)
        data.withUnsafeBytes { bytes in
            #expect(ring.oldestPendingBytes == nil)
            for offset in [0, 16, 32] {
                let pushed = ring.push(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 8)]), wireLength: 8,
                                       timestampNanos: 0, sourceIndex: 0, copy: false)
                #expect(pushed)
            }
            // Pushed but unpublished packets are still the producer's, and still held.
            #expect(ring.oldestPendingBytes == bytes.baseAddress)
            ring.publish()
            #expect(ring.consume(limit: 1) { _ in } == 1)
            #expect(ring.oldestPendingBytes == bytes.baseAddress! + 16)
            #expect(ring.consume(limit: 5) { _ in } == 2)
            #expect(ring.oldestPendingBytes == nil)
        }
    }

    @Test func fullRingRefusesWithoutOverwriting() {
        let ring = PacketRing(slots: 4, arenaBytes: 0)
        let bytes: [UInt8] = [9]
        var accepted = 0
        for i in 0..<10 {
            if bytes.withUnsafeBytes({ ring.push($0, wireLength: 1, timestampNanos: Int64(i), sourceIndex: 0, copy: false) }) {
                accepted += 1
            }
        }
        #expect(accepted == 4)
        ring.publish()
        var stamps: [Int64] = []
        _ = ring.consume(limit: 100) { stamps.append($0.timestampNanos) }
        #expect(stamps == [0, 1, 2, 3])
        // Space is back after consuming.
        #expect(bytes.withUnsafeBytes { ring.push($0, wireLength: 1, timestampNanos: 99, sourceIndex: 0, copy: false) })
    }

    @Test func arenaFullRefusesAndWrapsWithoutSplittingPackets() {
        let ring = PacketRing(slots: 64, arenaBytes: 256)
        let big = [UInt8](repeating: 7, count: 100)
        #expect(big.withUnsafeBytes { ring.push($0, wireLength: 100, timestampNanos: 0, sourceIndex: 0, copy: true) })
        #expect(big.withUnsafeBytes { ring.push($0, wireLength: 100, timestampNanos: 1, sourceIndex: 0, copy: true) })
        // 200 of 256 bytes used: a third 100-byte packet does not fit.
        #expect(!big.withUnsafeBytes { ring.push($0, wireLength: 100, timestampNanos: 2, sourceIndex: 0, copy: true) })
        ring.publish()
        _ = ring.consume(limit: 1) { _ in }
        // The first 100 bytes are free, but the tail (56 bytes) is too short: the packet goes to the start.
        let marked = [UInt8](repeating: 42, count: 100)
        #expect(marked.withUnsafeBytes { ring.push($0, wireLength: 100, timestampNanos: 3, sourceIndex: 0, copy: true) })
        ring.publish()
        var contents: [[UInt8]] = []
        _ = ring.consume(limit: 10) { contents.append(Array($0.buffer)) }
        #expect(contents.count == 2)
        #expect(contents[1] == marked)
    }

    /// Two threads, a million packets, each carrying its own sequence number in its bytes:
    /// the consumer must see every accepted packet exactly once, in order, with intact bytes.
    @Test func concurrentProducerConsumerStress() async {
        let ring = PacketRing(slots: 1024, arenaBytes: 64 * 1024)
        let total = 1_000_000
        let done = ManagedFlag()
        let consumer = Thread {
            var expected: UInt64 = 0
            var bad = 0
            var count = 0
            while true {
                let n = ring.consume(limit: 256) { entry in
                    let value = entry.buffer.loadUnaligned(as: UInt64.self)
                    let tail = entry.buffer[Int(entry.length) - 1]
                    if value != UInt64(entry.timestampNanos) || value < expected || tail != UInt8(truncatingIfNeeded: value) { bad += 1 }
                    expected = value + 1
                    count += 1
                }
                if n == 0 {
                    if done.isSet && ring.isEmpty { break }
                    sched_yield()
                }
            }
            done.result(bad: bad, count: count)
        }
        consumer.start()
        var buffer = [UInt8](repeating: 0, count: 200)
        var pushed = 0
        var refused = 0
        for i in 0..<total {
            let length = 9 + (i % 191)
            buffer.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt64(i), as: UInt64.self)
                raw[length - 1] = UInt8(truncatingIfNeeded: i)
            }
            let ok = buffer.withUnsafeBytes { raw in
                ring.push(UnsafeRawBufferPointer(rebasing: raw[0..<length]), wireLength: UInt32(length), timestampNanos: Int64(i), sourceIndex: 0, copy: true)
            }
            if ok { pushed += 1 } else { refused += 1 }
            if i % 32 == 0 { ring.publish() }
        }
        ring.publish()
        done.set()
        while !done.finished { try? await Task.sleep(nanoseconds: 1_000_000) }
        #expect(done.bad == 0)
        #expect(pushed + refused == total)
        #expect(pushed > 0)
        #expect(done.count == pushed)
    }
}

/// A tiny cross-thread flag for the stress test.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var _finished = false
    private var _bad = 0
    private var _count = 0
    var isSet: Bool { lock.withLock { flag } }
    var finished: Bool { lock.withLock { _finished } }
    var bad: Int { lock.withLock { _bad } }
    var count: Int { lock.withLock { _count } }
    func set() { lock.withLock { flag = true } }
    func result(bad: Int, count: Int) { lock.withLock { _bad = bad; _count = count; _finished = true } }
}
