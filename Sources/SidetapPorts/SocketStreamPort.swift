#if canImport(Glibc)
import Glibc
#endif
import SidetapCore

/// Settings of a `SocketStreamPort`; maps onto a `kind: socket` port in the config.
public struct SocketStreamPortSettings: Sendable, Hashable {
    /// Where readers connect.
    public var listen: SocketListenAddress
    /// pcap (default) or pcapng.
    public var format: CaptureFormat
    /// Timestamp resolution written (default nanoseconds).
    public var precision: TimestampPrecision
    /// pcapng only: the section comment.
    public var sectionComment: String?
    /// Readers connected at once (1–64); a connection beyond it is accepted and closed at once.
    public var maxReaders: Int
    /// Each reader's own send buffer in Sidetap (in front of the kernel's socket buffer).
    public var readerBufferBytes: Int

    public init(
        listen: SocketListenAddress, format: CaptureFormat = .pcap, precision: TimestampPrecision = .nano,
        sectionComment: String? = nil, maxReaders: Int = 8, readerBufferBytes: Int = 1 << 20
    ) {
        self.listen = listen
        self.format = format
        self.precision = precision
        self.sectionComment = sectionComment
        self.maxReaders = maxReaders
        self.readerBufferBytes = readerBufferBytes
    }
}

/// A live pcap/pcapng stream served on a listening TCP or Unix socket: any number of
/// appliances (up to `maxReaders`) connect and read, e.g. `nc 127.0.0.1 5555 | tcpdump -r -`.
///
/// Every reader gets a complete stream: a fresh file header when it connects, then every
/// packet written after that which its buffer had room for, as whole records. New
/// connections are accepted without blocking on `tick` and on `write` (at most once a
/// millisecond while readers are connected, on every write while none is). A reader that
/// hangs up (EOF seen on `tick`, or a failed send) is dropped; the others carry on.
///
/// Accounting, per packet given to `write`:
/// - no reader connected: the write fails with ENOTCONN (a write error);
/// - no connected reader had room (all are slow): the write fails with EAGAIN (a write error);
/// - otherwise the packet counts as sent; readers without room skip it (`skippedPackets`).
/// A sent packet becomes lost (`lostPackets`, which the engine moves from sent to write
/// error) when every reader that buffered it threw it away unsent: it disconnected first, or
/// `close` gave up on it. So "sent" means "at least one reader got it" and a slow reader
/// never blocks the worker or the other readers.
public final class SocketStreamPort: Port {
    public let name: String
    public let settings: SocketStreamPortSettings

    /// How long `close` waits for readers to take what is buffered for them.
    var closeDrainMilliseconds: Int64 = 1000
    /// SO_SNDBUF for accepted sockets; nil keeps the kernel's default (tests make it small).
    var kernelSendBufferBytes: Int32?

    private var listener: Int32 = -1
    private var framer: RecordFramer?
    private var header: [UInt8] = []
    private var readers: [SocketReader?]
    private var readerCount = 0
    private var ledger: PacketLedger
    private var nextAcceptMillis: Int64 = 0
    private var phase = Phase.created
    private var unixPathCreated: String?
    private var peekBuffer = [UInt8](repeating: 0, count: 512)
    private let lost = Counter()
    private let connectionCount = Counter()
    private let rejectedCount = Counter()
    private let skippedCount = Counter()
    private let readersGauge = Counter()

    private enum Phase { case created, open, closed }

    public init(name: String, settings: SocketStreamPortSettings) {
        self.name = name
        self.settings = settings
        let maxReaders = max(1, min(settings.maxReaders, 64))
        readers = [SocketReader?](repeating: nil, count: maxReaders)
        ledger = PacketLedger(slots: 0)
    }

    /// Packets that at least one reader buffered but that reached none. Any thread.
    public var lostPackets: UInt64 { lost.value }
    /// Readers accepted so far (each got its own file header). Any thread.
    public var connections: UInt64 { connectionCount.value }
    /// Connections closed at once because `maxReaders` were connected. Any thread.
    public var rejectedConnections: UInt64 { rejectedCount.value }
    /// Per-reader skips summed: a packet one slow reader had no room for. Any thread.
    public var skippedPackets: UInt64 { skippedCount.value }
    /// Readers connected now (as of the worker's last accept or drop). Any thread.
    public var connectedReaders: UInt64 { readersGauge.value }

    /// The reader counters for stats. Any thread.
    public var readerStatistics: ReaderStatistics? {
        ReaderStatistics(connected: readersGauge.value, accepted: connectionCount.value, rejected: rejectedCount.value,
                         skippedPackets: skippedCount.value)
    }

    /// The TCP port actually listened on (useful with port 0), nil for a Unix socket or
    /// before `open`. Call from the worker or before the worker starts.
    public private(set) var boundPort: UInt16?

    /// The TCP stream it serves, so that a source capturing the same host (`lo`, `any`) drops
    /// it before selection instead of feeding it back; nil for a Unix socket.
    public var egress: PortEgress? {
        guard case .tcp(let address, let port) = settings.listen else { return nil }
        return PortEgress(port: name, served: ServedTraffic(address: address, port: boundPort ?? port))
    }

    public func open(sources: [SourceDescription]) throws {
        guard phase == .created else { throw PortSetupError.invalidSetting(port: name, reason: "opened twice") }
        guard (1...64).contains(settings.maxReaders) else {
            throw PortSetupError.invalidSetting(port: name, reason: "max_readers must be between 1 and 64, got \(settings.maxReaders)")
        }
        guard settings.readerBufferBytes >= 64 << 10 else {
            throw PortSetupError.invalidSetting(port: name, reason: "reader buffer must be at least 64 KiB")
        }
        _ = signal(SIGPIPE, SIG_IGN)
        let framer = try RecordFramer(
            port: name, format: settings.format, sources: sources,
            precision: settings.precision, sectionComment: settings.sectionComment)
        header = framer.fileHeader()
        guard header.count <= settings.readerBufferBytes / 2 else {
            throw PortSetupError.invalidSetting(port: name, reason: "stream header too large (\(header.count) bytes)")
        }
        self.framer = framer
        ledger = PacketLedger(slots: readers.count * (settings.readerBufferBytes / 16 + 1))
        switch settings.listen {
        case .tcp(let address, let port): try listenTCP(address, port)
        case .unix(let path): try listenUnix(path)
        }
        phase = .open
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        guard phase == .open, let framer else { throw PortWriteError(code: EBADF, operation: "write") }
        if readerCount == 0 || Self.monotonicMillis() >= nextAcceptMillis { acceptReaders() }
        guard readerCount > 0 else { throw PortWriteError(code: ENOTCONN, operation: "write") }
        guard let length = framer.recordLength(of: packet) else { throw PortWriteError(code: EINVAL, operation: "write") }
        guard length <= settings.readerBufferBytes / 2 else { throw PortWriteError(code: EMSGSIZE, operation: "write") }
        guard let slot = ledger.take() else { throw PortWriteError(code: ENOBUFS, operation: "write") }
        var holders = 0
        for index in readers.indices {
            guard let reader = readers[index] else { continue }
            var destination = reader.writer.reserve(length)
            if destination == nil {
                guard drain(index) else { continue }
                destination = reader.writer.reserve(length)
            }
            guard let destination else {
                reader.skipped += 1
                skippedCount.add()
                continue
            }
            framer.writeRecord(packet, to: destination)
            reader.writer.commit(length)
            ledger.addHolder(slot)
            reader.remember(slot: slot)
            holders += 1
        }
        guard holders > 0 else {
            ledger.release(slot)
            throw PortWriteError(code: readerCount == 0 ? ENOTCONN : EAGAIN, operation: "write")
        }
    }

    public func flush() throws(PortWriteError) {
        guard phase == .open else { return }
        for index in readers.indices where readers[index]?.writer.pendingCount ?? 0 > 0 { _ = drain(index) }
    }

    public func tick(wallNanos: Int64) throws(PortWriteError) {
        guard phase == .open else { return }
        dropHungUpReaders()
        acceptReaders()
        try flush()
    }

    public func close() throws {
        guard phase == .open else {
            phase = .closed
            return
        }
        phase = .closed
        let deadline = Self.monotonicMillis() + closeDrainMilliseconds
        var waiting = [pollfd]()
        waiting.reserveCapacity(readers.count)
        while true {
            waiting.removeAll(keepingCapacity: true)
            for index in readers.indices where readers[index]?.writer.pendingCount ?? 0 > 0 {
                if drain(index), let reader = readers[index], reader.writer.pendingCount > 0 {
                    waiting.append(pollfd(fd: reader.descriptor, events: Int16(POLLOUT), revents: 0))
                }
            }
            let remaining = deadline - Self.monotonicMillis()
            guard !waiting.isEmpty, remaining > 0 else { break }
            _ = poll(&waiting, nfds_t(waiting.count), Int32(min(remaining, 100)))
        }
        for index in readers.indices { dropReader(index) }
        if listener >= 0 {
            Glibc.close(listener)
            listener = -1
        }
        if let path = unixPathCreated {
            unlink(path)
            unixPathCreated = nil
        }
    }

    // MARK: - Readers

    /// Accepts every pending connection without waiting; beyond `maxReaders` they are closed.
    private func acceptReaders() {
        nextAcceptMillis = Self.monotonicMillis() + 1
        while listener >= 0 {
            let descriptor = accept(listener, nil, nil)
            if descriptor < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return   // EAGAIN: nobody waiting (or a transient failure such as EMFILE)
            }
            // Glibc's Swift overlay has no accept4; set what it would.
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            if var size = kernelSendBufferBytes {
                _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            guard let index = readers.firstIndex(where: { $0 == nil }) else {
                Glibc.close(descriptor)
                rejectedCount.add()
                continue
            }
            let reader = SocketReader(descriptor: descriptor, bufferBytes: settings.readerBufferBytes)
            _ = reader.writer.append(header)
            readers[index] = reader
            readerCount += 1
            readersGauge.publish(UInt64(readerCount))
            connectionCount.add()
        }
    }

    /// Writes what reader `index` takes now; false (and the reader dropped) when it is gone.
    private func drain(_ index: Int) -> Bool {
        guard let reader = readers[index] else { return false }
        do {
            _ = try reader.writer.drain()
            reader.retireDelivered(ledger)
            return true
        } catch {
            dropReader(index)
            return false
        }
    }

    /// Finds readers that hung up (EOF or error on their socket) and drops them; bytes a
    /// reader sends are read and ignored.
    private func dropHungUpReaders() {
        for index in readers.indices {
            guard let reader = readers[index] else { continue }
            while true {
                let count = peekBuffer.withUnsafeMutableBytes { recv(reader.descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count > 0 { continue }
                if count < 0, errno == EINTR { continue }
                if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { dropReader(index) }
                break
            }
        }
    }

    private func dropReader(_ index: Int) {
        guard let reader = readers[index] else { return }
        lost.add(UInt64(reader.discardPending(ledger)))
        Glibc.close(reader.descriptor)
        readers[index] = nil
        readerCount -= 1
        readersGauge.publish(UInt64(readerCount))
    }

    // MARK: - Listening

    private func listenTCP(_ address: IPAddress, _ port: UInt16) throws {
        let family = address.isIPv4 ? AF_INET : AF_INET6
        let text = settings.listen.description
        let descriptor = try NetworkSocket.open(family: family, type: Int32(SOCK_STREAM.rawValue), protocol: 0, sendOnly: false, what: text)
        var (storage, length) = NetworkSocket.socketAddress(address)
        withUnsafeMutableBytes(of: &storage) { raw in
            // sin_port and sin6_port sit at the same offset, in network order.
            raw.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
        }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 { _ = setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0, Glibc.listen(descriptor, 16) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw SystemError(code: code, operation: bound == 0 ? "listen" : "bind", path: text)
        }
        var actual = sockaddr_storage()
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        boundPort = withUnsafeBytes(of: &actual) { UInt16(bigEndian: $0.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) }
        listener = descriptor
    }

    /// Binds a Unix socket with mode 0660; a stale socket file (nobody listening) is removed,
    /// anything else at the path is refused.
    private func listenUnix(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw PortSetupError.invalidSetting(port: name, reason: "'\(path)' exists and is not a socket")
            }
            if Self.someoneListens(path) {
                throw PortSetupError.invalidSetting(port: name, reason: "'\(path)' is in use: another program listens on it")
            }
            guard unlink(path) == 0 else { throw SystemError(code: errno, operation: "unlink", path: path) }
        } else if errno != ENOENT {
            throw SystemError(code: errno, operation: "lstat", path: path)
        }
        let directory = FileSystem.split(path).prefix
        if !directory.isEmpty { try FileSystem.makeDirectories(directory) }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError(code: errno, operation: "socket", path: path) }
        var address = Self.unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw SystemError(code: code, operation: "bind", path: path)
        }
        unixPathCreated = path
        guard chmod(path, 0o660) == 0, Glibc.listen(descriptor, 16) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            unlink(path)
            unixPathCreated = nil
            throw SystemError(code: code, operation: "listen", path: path)
        }
        listener = descriptor
    }

    static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// True when connecting to the Unix socket at `path` succeeds (it is not stale).
    private static func someoneListens(_ path: String) -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { Glibc.close(probe) }
        var address = unixAddress(path)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    private static func monotonicMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
