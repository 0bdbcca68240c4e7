import Foundation
import SidetapCore
import SidetapPcap
import SidetapTraffic
import Testing

@Suite("PcapWriter")
struct PcapWriterTests {
    /// Reads every record back with libpcap.
    static func readBack(_ path: String) throws -> (LinkType, Int, [GeneratedFrame]) {
        let capture = try OfflineCapture(path: path)
        var frames: [GeneratedFrame] = []
        loop: while true {
            switch capture.next() {
            case .packet(let packet): frames.append(GeneratedFrame(timestampNanos: packet.timestampNanos, bytes: Array(packet.bytes)))
            case .end: break loop
            case .error(let message): Issue.record("read error \(message)"); break loop
            }
        }
        return (capture.linkType, capture.fileTimestampDigits, frames)
    }

    @Test(arguments: [PcapTimestampPrecision.microseconds, .nanoseconds])
    func generatorRoundTripsThroughLibpcap(precision: PcapTimestampPrecision) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/rt.pcap"
        let generator = TrafficGenerator(seed: 21, packets: 3_000)
        try generator.write(to: path, precision: precision)
        let (linkType, digits, frames) = try Self.readBack(path)
        let expected = Array(generator)
        #expect(linkType == .ethernet)
        #expect(digits == (precision == .microseconds ? 6 : 9))
        #expect(frames.count == expected.count)
        #expect(frames.map(\.bytes) == expected.map(\.bytes))
        let truncate: (Int64) -> Int64 = { precision == .microseconds ? $0 / 1000 * 1000 : $0 }
        #expect(frames.map(\.timestampNanos) == expected.map { truncate($0.timestampNanos) })
    }

    @Test func smallBufferAndLargeRecords() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/big.pcap"
        let writer = try PcapWriter(path: path, linkType: .raw, precision: .nanoseconds, bufferCapacity: 1)
        let big = [UInt8](repeating: 0x45, count: 100_000)
        try writer.write(big, timestampNanos: 1_000_000_001)
        try writer.write([0x60, 0, 0, 0], timestampNanos: 2_000_000_002)
        #expect(writer.packetCount == 2)
        try writer.close()
        try writer.close()                                  // idempotent
        let (linkType, _, frames) = try Self.readBack(path)
        #expect(linkType == .raw)
        #expect(frames.count == 2)
        #expect(frames.first?.bytes.count == 100_000)
        #expect(frames.last?.timestampNanos == 2_000_000_002)
        #expect(throws: SystemError.self) { try writer.write([1], timestampNanos: 0); try writer.flush() }
    }

    @Test func unwritablePathNamesThePath() {
        do {
            _ = try PcapWriter(path: "/nonexistent-dir/x.pcap")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("/nonexistent-dir/x.pcap"))
        }
    }
}
