import SidetapCore
import SidetapTraffic
import Testing

@Suite("TrafficGenerator: determinism")
struct GeneratorDeterminismTests {
    static func digest(_ generator: TrafficGenerator) -> (count: Int, hash: UInt64) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var count = 0
        generator.forEachFrame { timestamp, bytes in
            count += 1
            hash = (hash ^ UInt64(bitPattern: timestamp)) &* 0x100_0000_01B3
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        }
        return (count, hash)
    }

    @Test func sameSeedSameBytes() {
        let a = Self.digest(TrafficGenerator(seed: 42, packets: 5_000))
        let b = Self.digest(TrafficGenerator(seed: 42, packets: 5_000))
        #expect(a.count == 5_000)
        #expect(a.hash == b.hash)
        // The iterator yields the same frames as forEachFrame.
        var viaIterator: [GeneratedFrame] = []
        for frame in TrafficGenerator(seed: 42, packets: 300) { viaIterator.append(frame) }
        var viaCallback: [GeneratedFrame] = []
        TrafficGenerator(seed: 42, packets: 300).forEachFrame { viaCallback.append(GeneratedFrame(timestampNanos: $0, bytes: Array($1))) }
        #expect(viaIterator == viaCallback)
    }

    @Test func differentSeedDifferentBytes() {
        let a = Self.digest(TrafficGenerator(seed: 42, packets: 2_000))
        let b = Self.digest(TrafficGenerator(seed: 43, packets: 2_000))
        #expect(a.hash != b.hash)
        let first1 = Array(TrafficGenerator(seed: 1, packets: 1))
        let first2 = Array(TrafficGenerator(seed: 2, packets: 1))
        #expect(first1 != first2)
    }

    @Test func prefixIsStable() {
        // A shorter run is a prefix of a longer run with the same seed.
        let short = Array(TrafficGenerator(seed: 9, packets: 500))
        let long = Array(TrafficGenerator(seed: 9, packets: 800))
        #expect(short == Array(long[0..<500]))
    }

    @Test func sampleIsFixed() {
        let sample = TrafficGenerator.sample()
        #expect(sample.packetCount == 2_000)
        #expect(sample.seed == TrafficGenerator.sampleSeed)
        #expect(Self.digest(sample).hash == Self.digest(TrafficGenerator.sample()).hash)
    }
}
