import Foundation
import Glibc
import SidetapCore
@testable import SidetapPorts
import Testing

/// Live streams into FIFOs and pipes, read by tcpdump, tshark and by the test itself.
@Suite(.serialized) struct StreamPortTests {
    /// Ticks `port` until a reader is connected `count` times, at most ~5 s.
    static func waitForConnections(_ port: StreamPort, _ count: UInt64) throws {
        for _ in 0..<500 where port.connections < count {
            try port.tick(wallNanos: 0)
            usleep(10_000)
        }
        #expect(port.connections == count)
    }

    @Test func fifoReadByTcpdumpSeesEveryPacket() throws {
        let directory = TemporaryDirectory()
        let fifo = directory.file("pipes/live")
        let port = StreamPort(name: "live", settings: StreamPortSettings(path: fifo, format: .pcap))
        try port.open(sources: [Traffic.source("eth0")])
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)   // created by the port

        let reader = try Tool.start("/usr/bin/tcpdump", ["-r", fifo] + Tool.tcpdumpArguments)
        try Self.waitForConnections(port, 1)
        let packets = Traffic.ethernet(count: 200)
        for (index, packet) in packets.enumerated() {
            try packet.write(to: port)
            if index % 10 == 9 { try port.flush() }
        }
        try port.close()
        let (status, output, errors) = try reader.finish()
        #expect(status == 0, "\(errors)")
        let read = Tool.parseTcpdump(output)
        expectSamePackets(read.map(\.bytes), packets.map(\.bytes))
        expectSameTimestamps(read.map(\.timestampNanos), packets.map(\.timestampNanos))
        #expect(port.lostPackets == 0)
    }

    @Test func missingReaderGivesWriteErrorsNotAHang() throws {
        let directory = TemporaryDirectory()
        let fifo = directory.file("nobody")
        let port = StreamPort(name: "nobody", settings: StreamPortSettings(path: fifo))
        let started = Date()
        try port.open(sources: [Traffic.source("eth0")])
        var failures: [PortWriteError] = []
        for packet in Traffic.ethernet(count: 50) {
            do throws(PortWriteError) {
                try packet.write(to: port)
            } catch {
                failures.append(error)
            }
            try port.flush()
            try port.tick(wallNanos: 0)
        }
        try port.close()
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(failures.count == 50)
        #expect(failures.allSatisfy { $0.code == ENXIO })
        #expect(port.connections == 0)
    }

    @Test func readerThatLeavesIsReplacedAndTheNextGetsAFreshHeader() throws {
        let directory = TemporaryDirectory()
        let fifo = directory.file("relay")
        let port = StreamPort(name: "relay", settings: StreamPortSettings(path: fifo, precision: .micro))
        let sources = [Traffic.source("eth0")]
        let framing = try PcapFraming(port: "relay", sources: sources, precision: .micro)
        try port.open(sources: sources)
        let packets = Traffic.ethernet(count: 5)

        let first = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(first >= 0)
        try Self.waitForConnections(port, 1)
        for packet in packets[0..<3] { try packet.write(to: port) }
        try port.flush()
        #expect(Self.readAvailable(first) == Self.expectedStream(framing, Array(packets[0..<3])), "first reader's stream")
        close(first)

        // The reader is gone: the next flush fails with EPIPE (not SIGPIPE), then writes fail.
        try packets[3].write(to: port)
        #expect(throws: PortWriteError(code: EPIPE, operation: "write")) { try port.flush() }
        #expect(throws: PortWriteError(code: EPIPE, operation: "write")) { try packets[3].write(to: port) }
        #expect(port.lostPackets == 1)

        let second = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(second >= 0)
        try Self.waitForConnections(port, 2)
        for packet in packets[3..<5] { try packet.write(to: port) }
        try port.flush()
        #expect(Self.readAvailable(second) == Self.expectedStream(framing, Array(packets[3..<5])), "second reader's stream")
        try port.close()
        close(second)
    }

    @Test func slowReaderCostsPacketsNeverAHangAndTheStreamStaysWellFormed() throws {
        let directory = TemporaryDirectory()
        let fifo = directory.file("slow")
        let port = StreamPort(name: "slow", settings: StreamPortSettings(path: fifo))
        let sources = [Traffic.source("eth0")]
        let framing = try PcapFraming(port: "slow", sources: sources, precision: .nano)
        try port.open(sources: sources)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        try Self.waitForConnections(port, 1)

        // ~2.6 MB into a 64 KiB pipe and a 1 MiB buffer that nobody empties meanwhile.
        let packets = (0..<8).flatMap { _ in Traffic.ethernet(count: 300) }
        var accepted: [TestPacket] = []
        var refused = 0
        let started = Date()
        for packet in packets {
            do throws(PortWriteError) {
                try packet.write(to: port)
                accepted.append(packet)
            } catch {
                #expect(error.code == EAGAIN)
                refused += 1
            }
        }
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(refused > 0)

        // Now the reader catches up; ticks push out what the pipe did not take.
        var received: [UInt8] = []
        for _ in 0..<200 {
            received += Self.readAvailable(reader)
            try port.tick(wallNanos: 0)
            if received.count >= Self.expectedStream(framing, accepted).count { break }
            usleep(2_000)
        }
        try port.close()
        received += Self.readAvailable(reader)
        let expected = Self.expectedStream(framing, accepted)
        #expect(received.count == expected.count)
        #expect(received == expected, "stream differs from the accepted packets' framing")
        #expect(port.lostPackets == 0)
    }

    @Test func standardOutputPipedIntoTsharkCarriesMixedLinkTypesAsPcapng() throws {
        let pipe = Pipe()
        let reader = try Tool.start(
            "/usr/bin/tshark",
            ["-r", "-", "-T", "fields", "-e", "frame.interface_name", "-e", "frame.time_epoch", "-e", "frame.len"],
            input: pipe)
        let port = StreamPort(name: "out", settings: StreamPortSettings(path: "-", format: .pcapng))
        port.standardOutput = pipe.fileHandleForWriting.fileDescriptor
        try port.open(sources: [Traffic.source("vnet0", .ethernet), Traffic.source("tun0", .raw)])
        #expect(fcntl(port.standardOutput, F_GETFL) & O_NONBLOCK != 0)
        let packets = zip(Traffic.ethernet(count: 20, sourceIndex: 0), Traffic.rawIPv4(count: 20, sourceIndex: 1))
            .flatMap { [$0.0, $0.1] }
        for packet in packets { try packet.write(to: port) }
        try port.flush()
        try port.close()
        #expect(fcntl(port.standardOutput, F_GETFL) & O_NONBLOCK == 0)   // flags restored
        try pipe.fileHandleForWriting.close()
        let (status, output, errors) = try reader.finish()
        #expect(status == 0, "\(errors)")
        let expected = packets.map { "\($0.sourceIndex == 0 ? "vnet0" : "tun0")\t\(Self.epoch($0.timestampNanos))\t\($0.wireLength)" }
        #expect(output.split(separator: "\n").map(String.init) == expected)
    }

    @Test func standardOutputPipedIntoTcpdump() throws {
        let pipe = Pipe()
        let reader = try Tool.start("/usr/bin/tcpdump", ["-r", "-"] + Tool.tcpdumpArguments, input: pipe)
        let port = StreamPort(name: "out", settings: StreamPortSettings(path: "-"))
        port.standardOutput = pipe.fileHandleForWriting.fileDescriptor
        try port.open(sources: [Traffic.source("eth0")])
        let packets = Traffic.ethernet(count: 100)
        for packet in packets { try packet.write(to: port) }
        try port.close()
        try pipe.fileHandleForWriting.close()
        let (status, output, errors) = try reader.finish()
        #expect(status == 0, "\(errors)")
        expectSamePackets(Tool.parseTcpdump(output).map(\.bytes), packets.map(\.bytes))
    }

    @Test func terminalOnStandardOutputIsRefused() throws {
        // A pseudo-terminal: /dev/ptmx, unlocked, and its /dev/pts/N side.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        #expect(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        #expect(ioctl(master, UInt(0x4004_5431) /* TIOCSPTLCK */, &unlock) == 0)
        #expect(ioctl(master, UInt(0x8004_5430) /* TIOCGPTN */, &number) == 0)
        let terminal = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        #expect(terminal >= 0 && isatty(terminal) == 1)
        defer { close(terminal) }
        let port = StreamPort(name: "tty", settings: StreamPortSettings(path: "-"))
        port.standardOutput = terminal
        #expect(throws: PortSetupError.self) { try port.open(sources: [Traffic.source("eth0")]) }
    }

    @Test func regularFileAtTheFifoPathIsRefused() throws {
        let directory = TemporaryDirectory()
        FileManager.default.createFile(atPath: directory.file("plain"), contents: Data([1, 2, 3]))
        let port = StreamPort(name: "p", settings: StreamPortSettings(path: directory.file("plain")))
        #expect(throws: PortSetupError.self) { try port.open(sources: [Traffic.source("eth0")]) }
        #expect(FileManager.default.contents(atPath: directory.file("plain")) == Data([1, 2, 3]))
    }

    // MARK: - Helpers

    /// The exact bytes a pcap stream of `packets` should carry.
    static func expectedStream(_ framing: PcapFraming, _ packets: [TestPacket]) -> [UInt8] {
        var bytes = framing.fileHeader()
        for packet in packets {
            let length = framing.recordLength(capturedLength: packet.bytes.count)
            var record = [UInt8](repeating: 0xEE, count: length)
            packet.bytes.withUnsafeBytes { raw in
                record.withUnsafeMutableBytes { destination in
                    framing.writeRecord(
                        OutboundPacket(bytes: raw, wireLength: packet.wireLength, timestampNanos: packet.timestampNanos,
                                       sourceIndex: packet.sourceIndex, linkType: packet.linkType),
                        to: destination.baseAddress!)
                }
            }
            bytes += record
        }
        return bytes
    }

    /// Everything a non-blocking descriptor has to give right now.
    static func readAvailable(_ descriptor: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    static func epoch(_ nanos: Int64) -> String {
        let fraction = String(nanos % 1_000_000_000)
        return "\(nanos / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }
}
