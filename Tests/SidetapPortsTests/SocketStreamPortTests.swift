import Foundation
import Glibc
import SidetapCore
@testable import SidetapPorts
import Testing

/// Live streams served on TCP (loopback) and Unix sockets, read by test clients and checked
/// with tcpdump.
@Suite(.serialized) struct SocketStreamPortTests {
    /// A test client: a connected socket whose received bytes are collected.
    final class Client {
        let descriptor: Int32
        var received: [UInt8] = []

        init(descriptor: Int32) { self.descriptor = descriptor }

        static func tcp(_ host: String, _ port: UInt16, receiveBuffer: Int32? = nil) throws -> Client {
            let address = IPAddress(host)!
            let family = address.isIPv4 ? AF_INET : AF_INET6
            let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw TestError("socket: \(errno)") }
            if var size = receiveBuffer {
                setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            var (storage, length) = NetworkSocket.socketAddress(address)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self) }
            let result = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) } }
            guard result == 0 else { throw TestError("connect \(host):\(port): errno \(errno)") }
            return Client(descriptor: descriptor)
        }

        static func unix(_ path: String) throws -> Client {
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = SocketStreamPort.unixAddress(path)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw TestError("connect \(path): errno \(errno)") }
            return Client(descriptor: descriptor)
        }

        /// Reads what is there now; returns false once the server closed the connection.
        @discardableResult
        func readAvailable() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count > 0 {
                    received += chunk[0..<count]
                    continue
                }
                return count < 0 && (errno == EAGAIN || errno == EINTR)
            }
        }

        /// Reads until the server closes (at most `seconds`).
        func readToEnd(seconds: Double = 5) {
            let deadline = Date().addingTimeInterval(seconds)
            while readAvailable(), Date() < deadline { usleep(2_000) }
        }

        func close() { Glibc.close(descriptor) }

        /// The received bytes as tcpdump reads them from a file.
        func dumped(_ directory: TemporaryDirectory, _ name: String) throws -> [Tool.DumpedPacket] {
            let path = directory.file(name)
            FileManager.default.createFile(atPath: path, contents: Data(received))
            return try Tool.tcpdump(path)
        }
    }

    struct TestError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func tcpPort(maxReaders: Int = 8, host: String = "127.0.0.1", format: CaptureFormat = .pcap) throws -> SocketStreamPort {
        let port = SocketStreamPort(
            name: "sock", settings: SocketStreamPortSettings(listen: .tcp(IPAddress(host)!, port: 0), format: format, maxReaders: maxReaders))
        try port.open(sources: [Traffic.source("eth0")])
        return port
    }

    /// Ticks until `count` readers were accepted (at most ~2 s).
    static func waitForConnections(_ port: SocketStreamPort, _ count: UInt64) throws {
        for _ in 0..<200 where port.connections < count {
            try port.tick(wallNanos: 0)
            usleep(10_000)
        }
        #expect(port.connections == count)
    }

    func expectPackets(_ read: [Tool.DumpedPacket], _ written: ArraySlice<TestPacket>, sourceLocation: SourceLocation = #_sourceLocation) {
        expectSamePackets(read.map(\.bytes), written.map(\.bytes), sourceLocation: sourceLocation)
        expectSameTimestamps(read.map(\.timestampNanos), written.map(\.timestampNanos), sourceLocation: sourceLocation)
    }

    @Test func earlyAndLateReadersGetValidStreamsFromTheirStart() throws {
        let directory = TemporaryDirectory()
        let port = try Self.tcpPort()
        let number = try #require(port.boundPort)
        let packets = Traffic.ethernet(count: 40)

        let early = try Client.tcp("127.0.0.1", number)
        try Self.waitForConnections(port, 1)
        for packet in packets[0..<15] { try packet.write(to: port) }
        try port.flush()
        early.readAvailable()
        let late = try Client.tcp("127.0.0.1", number)
        try Self.waitForConnections(port, 2)
        #expect(port.connectedReaders == 2)
        for (index, packet) in packets[15...].enumerated() {
            try packet.write(to: port)
            if index % 5 == 0 {
                try port.flush()
                early.readAvailable()
                late.readAvailable()
            }
        }
        try port.close()
        early.readToEnd()
        late.readToEnd()
        expectPackets(try early.dumped(directory, "early.pcap"), packets[...])
        expectPackets(try late.dumped(directory, "late.pcap"), packets[15...])
        #expect(port.lostPackets == 0 && port.skippedPackets == 0)
        early.close()
        late.close()
    }

    @Test func ipv6ListenerServesPcapng() throws {
        let directory = TemporaryDirectory()
        let port = try Self.tcpPort(host: "::1", format: .pcapng)
        let reader = try Client.tcp("::1", try #require(port.boundPort))
        try Self.waitForConnections(port, 1)
        let packets = Traffic.ethernet(count: 12)
        for packet in packets { try packet.write(to: port) }
        try port.close()
        reader.readToEnd()
        #expect(Array(reader.received.prefix(4)) == [0x0A, 0x0D, 0x0D, 0x0A])   // pcapng section header
        expectPackets(try reader.dumped(directory, "v6.pcapng"), packets[...])
        reader.close()
    }

    @Test func withoutReadersPacketsFailWithENOTCONN() throws {
        let port = try Self.tcpPort()
        var codes: [Int32] = []
        for packet in Traffic.ethernet(count: 5) {
            do throws(PortWriteError) { try packet.write(to: port) } catch { codes.append(error.code) }
        }
        #expect(codes == [Int32](repeating: ENOTCONN, count: 5))
        try port.close()
    }

    @Test func aReaderThatStopsReadingDoesNotHoldBackAnother() throws {
        let directory = TemporaryDirectory()
        let port = try Self.tcpPort()
        port.kernelSendBufferBytes = 65_536
        let number = try #require(port.boundPort)
        let stuck = try Client.tcp("127.0.0.1", number, receiveBuffer: 4096)
        let reader = try Client.tcp("127.0.0.1", number)
        try Self.waitForConnections(port, 2)
        // ~3.5 MB: far more than the stuck reader's 1 MiB buffer plus its socket buffers.
        let packets = Traffic.ethernet(count: 3000)
        for (index, packet) in packets.enumerated() {
            try packet.write(to: port)   // never fails: the live reader always has room
            if index % 8 == 7 {
                try port.flush()
                reader.readAvailable()
            }
        }
        #expect(port.skippedPackets > 0, "the stuck reader skipped packets")
        // Now the stuck reader reads again and takes everything buffered for it.
        for _ in 0..<300 {
            try port.flush()
            stuck.readAvailable()
            reader.readAvailable()
            usleep(2_000)
        }
        try port.close()
        reader.readToEnd()
        stuck.readToEnd()
        expectPackets(try reader.dumped(directory, "live.pcap"), packets[...])
        #expect(port.lostPackets == 0, "every packet reached the live reader")

        // The stuck reader's stream is well formed: whole records, in order, a subset.
        let partial = try stuck.dumped(directory, "stuck.pcap")
        #expect(partial.count > 0 && UInt64(partial.count) == UInt64(packets.count) - port.skippedPackets)
        let expected = packets.map(\.bytes)
        var next = 0
        for packet in partial {
            guard let found = expected[next...].firstIndex(of: packet.bytes) else {
                Issue.record("stuck reader got a packet out of order or damaged")
                break
            }
            next = found + 1
        }
        stuck.close()
        reader.close()
    }

    @Test func closeGivesAStuckReaderAtMostAboutOneSecondAndCountsWhatItLost() throws {
        let port = try Self.tcpPort()
        port.kernelSendBufferBytes = 65_536
        let stuck = try Client.tcp("127.0.0.1", try #require(port.boundPort), receiveBuffer: 4096)
        try Self.waitForConnections(port, 1)
        var sent = 0
        var refused = 0
        for packet in Traffic.ethernet(count: 3000) {
            do throws(PortWriteError) {
                try packet.write(to: port)
                sent += 1
            } catch {
                #expect(error.code == EAGAIN)   // its only reader has no room
                refused += 1
            }
        }
        #expect(refused > 0 && sent > 0)
        let closing = Date()
        try port.close()
        let took = Date().timeIntervalSince(closing)
        #expect(took >= 0.9 && took < 1.5, "close waited \(took) s")
        // What stayed in Sidetap's buffer for the only reader reached no reader.
        #expect(port.lostPackets > 0 && port.lostPackets < UInt64(sent))
        stuck.close()
    }

    @Test func disconnectAndReconnectOverAUnixSocket() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("run/tap.sock")
        // A stale socket file from an earlier run: bound, never listened, closed.
        try FileManager.default.createDirectory(atPath: directory.file("run"), withIntermediateDirectories: true)
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = SocketStreamPort.unixAddress(path)
        #expect(withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0)
        Glibc.close(stale)

        let port = SocketStreamPort(name: "unix", settings: SocketStreamPortSettings(listen: .unix(path: path), precision: .micro))
        try port.open(sources: [Traffic.source("eth0")])
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o660)

        let packets = Traffic.ethernet(count: 20)
        let first = try Client.unix(path)
        try Self.waitForConnections(port, 1)
        for packet in packets[0..<8] { try packet.write(to: port) }
        try port.flush()
        first.readAvailable()
        first.close()
        try port.tick(wallNanos: 0)   // sees the hang-up
        #expect(port.connectedReaders == 0)
        do throws(PortWriteError) {
            try packets[8].write(to: port)
            Issue.record("a write without readers succeeded")
        } catch {
            #expect(error.code == ENOTCONN)
        }
        let second = try Client.unix(path)
        try Self.waitForConnections(port, 2)
        for packet in packets[9...] { try packet.write(to: port) }
        try port.close()
        second.readToEnd()
        #expect(!FileManager.default.fileExists(atPath: path), "socket file removed on close")

        let micro = { (list: ArraySlice<TestPacket>) in list.map { var p = $0; p.timestampNanos = p.storedTimestamp(.micro); return p }[...] }
        expectPackets(try first.dumped(directory, "first.pcap"), micro(packets[0..<8]))
        expectPackets(try second.dumped(directory, "second.pcap"), micro(packets[9...]))
        second.close()
    }

    @Test func aUnixPathInUseOrNotASocketIsRefused() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("busy.sock")
        let owner = SocketStreamPort(name: "a", settings: SocketStreamPortSettings(listen: .unix(path: path)))
        try owner.open(sources: [Traffic.source("eth0")])
        let second = SocketStreamPort(name: "b", settings: SocketStreamPortSettings(listen: .unix(path: path)))
        #expect(throws: PortSetupError.invalidSetting(port: "b", reason: "'\(path)' is in use: another program listens on it")) {
            try second.open(sources: [Traffic.source("eth0")])
        }
        try owner.close()
        let file = directory.file("plain")
        FileManager.default.createFile(atPath: file, contents: Data([1]))
        let third = SocketStreamPort(name: "c", settings: SocketStreamPortSettings(listen: .unix(path: file)))
        #expect(throws: PortSetupError.invalidSetting(port: "c", reason: "'\(file)' exists and is not a socket")) {
            try third.open(sources: [Traffic.source("eth0")])
        }
        #expect(FileManager.default.fileExists(atPath: file))
    }

    @Test func connectionsBeyondMaxReadersAreClosed() throws {
        let port = try Self.tcpPort(maxReaders: 2)
        let number = try #require(port.boundPort)
        let clients = try (0..<3).map { _ in try Client.tcp("127.0.0.1", number) }
        for _ in 0..<100 where port.connections + port.rejectedConnections < 3 {
            try port.tick(wallNanos: 0)
            usleep(10_000)
        }
        #expect(port.connections == 2 && port.rejectedConnections == 1)
        clients[2].readToEnd()
        #expect(clients[2].received.isEmpty, "the rejected client sees the connection closed")
        try port.close()
        clients.forEach { $0.close() }
    }

    @Test func ledgerCountsAPacketLostOnlyWhenNoHolderDeliveredIt() {
        let ledger = PacketLedger(slots: 4)
        let shared = ledger.take()!
        ledger.addHolder(shared)
        ledger.addHolder(shared)
        ledger.delivered(shared)
        #expect(ledger.discarded(shared) == false, "another reader delivered it")
        let both = ledger.take()!
        ledger.addHolder(both)
        ledger.addHolder(both)
        #expect(ledger.discarded(both) == false, "one holder still has it")
        #expect(ledger.discarded(both) == true, "the last holder threw it away")
        // Every slot came back.
        let all = (0..<4).compactMap { _ in ledger.take() }
        #expect(all.count == 4 && ledger.take() == nil)
    }

    @Test func listenAddressesParse() {
        func parsed(_ text: String) -> SocketListenAddress? { try? SocketListenAddress.parse(text).get() }
        #expect(parsed("tcp://127.0.0.1:5555") == .tcp(IPAddress("127.0.0.1")!, port: 5555))
        #expect(parsed("tcp://[::1]:5555") == .tcp(IPAddress("::1")!, port: 5555))
        #expect(parsed("unix:/run/s.sock") == .unix(path: "/run/s.sock"))
        #expect(parsed("tcp://[::1]:5555")?.description == "tcp://[::1]:5555")
        for bad in ["127.0.0.1:5555", "tcp://::1:5555", "tcp://localhost:5555", "tcp://127.0.0.1", "tcp://127.0.0.1:65536",
                    "tcp://127.0.0.1:-1", "tcp://[127.0.0.1]:5", "unix:", "unix:/" + String(repeating: "a", count: 120), "udp://1.2.3.4:5"] {
            #expect(parsed(bad) == nil, "\(bad)")
        }
    }
}
