#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SidetapCore

/// Settings of a `StreamPort`; maps onto a `kind: stream` port in the config.
public struct StreamPortSettings: Sendable, Hashable {
    /// "-" for standard output, otherwise the path of a named pipe (created with mode 0600
    /// when missing).
    public var path: String
    /// pcap (default: what every reader takes) or pcapng (needed for mixed link types).
    public var format: CaptureFormat
    /// Timestamp resolution written (default nanoseconds).
    public var precision: TimestampPrecision
    /// pcapng only: the section comment.
    public var sectionComment: String?
    /// Wait for a slow reader instead of dropping (offline processing, where the engine's
    /// overflow policy is `wait`): a full pipe holds the writer until the reader takes bytes.
    /// A reader that takes nothing for `readerStallSeconds` is declared stalled and packets
    /// are dropped (EAGAIN) until it reads again, so a stuck reader cannot hang shutdown.
    public var waitForReader: Bool
    /// How long a waiting writer gives a reader that takes nothing.
    public var readerStallSeconds: Double

    public init(
        path: String, format: CaptureFormat = .pcap, precision: TimestampPrecision = .nano,
        sectionComment: String? = nil, waitForReader: Bool = false, readerStallSeconds: Double = 2
    ) {
        self.path = path
        self.format = format
        self.precision = precision
        self.sectionComment = sectionComment
        self.waitForReader = waitForReader
        self.readerStallSeconds = readerStallSeconds
    }
}

/// A live pcap/pcapng stream to standard output or a named pipe, for
/// `sidetap … | tcpdump -r -` or Wireshark reading a FIFO.
///
/// It never blocks its worker: the pipe is written non-blocking, and when the reader is
/// slower than the traffic the buffer fills and new packets fail with EAGAIN (already
/// buffered bytes stay queued, so the stream stays well formed). A FIFO without a reader
/// (ENXIO) is retried on every `tick`; packets meanwhile fail. When the reader goes away
/// (EPIPE; SIGPIPE is ignored process-wide by `open`), the buffered records are dropped and
/// the FIFO is reopened on a later tick, giving the next reader a fresh file header.
/// Standard output cannot be reopened: after its reader leaves, packets keep failing.
public final class StreamPort: Port {
    public let name: String
    public let settings: StreamPortSettings

    /// The descriptor used for "-" (a test can point it at a pipe).
    var standardOutput: Int32 = STDOUT_FILENO
    /// How long `close` waits for a slow reader to take the last buffered bytes.
    var closeDrainMilliseconds: Int32 = 2000

    private let writer = BufferedWriter()
    private var framer: RecordFramer?
    private var header: [UInt8] = []
    private var phase = Phase.created
    private var connected = false
    private var disconnectedCode: Int32 = ENXIO
    private var disconnectedOperation: StaticString = "open"
    private var bufferedPackets = 0
    /// Set when a waiting writer gave up on a reader that took nothing; cleared when the
    /// reader empties the buffer again.
    private var readerStalled = false
    private var savedStandardOutputFlags: Int32?
    private let lost = Counter()
    private let connectionCount = Counter()

    private enum Phase { case created, open, closed }

    public init(name: String, settings: StreamPortSettings) {
        self.name = name
        self.settings = settings
    }

    private var isStandardOutput: Bool { settings.path == "-" }

    /// Packets `write` accepted that never reached a reader: buffered when the reader left,
    /// or still queued when `close` gave up waiting. Readable from any thread.
    public var lostPackets: UInt64 { lost.value }

    /// How many times a reader was connected (each got its own file header). Readable from
    /// any thread.
    public var connections: UInt64 { connectionCount.value }

    public func open(sources: [SourceDescription]) throws {
        guard phase == .created else { throw PortSetupError.invalidSetting(port: name, reason: "opened twice") }
        _ = signal(SIGPIPE, SIG_IGN)
        let framer = try RecordFramer(
            port: name, format: settings.format, sources: sources,
            precision: settings.precision, sectionComment: settings.sectionComment)
        header = framer.fileHeader()
        guard header.count <= writer.capacity / 2 else {
            throw PortSetupError.invalidSetting(port: name, reason: "stream header too large (\(header.count) bytes)")
        }
        self.framer = framer
        if isStandardOutput {
            try openStandardOutput()
        } else {
            try prepareFIFO()
            let code = connectFIFO()
            if code != 0, code != ENXIO { throw SystemError(code: code, operation: "open", path: settings.path) }
        }
        phase = .open
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        guard phase == .open, let framer else { throw PortWriteError(code: EBADF, operation: "write") }
        guard connected else { throw PortWriteError(code: disconnectedCode, operation: disconnectedOperation) }
        guard let length = framer.recordLength(of: packet) else { throw PortWriteError(code: EINVAL, operation: "write") }
        guard length <= writer.capacity / 2 else { throw PortWriteError(code: EMSGSIZE, operation: "write") }
        var destination = writer.reserve(length)
        if destination == nil {
            try drainStream()
            destination = writer.reserve(length)
        }
        if destination == nil && settings.waitForReader && !readerStalled {
            destination = try waitForRoom(length)
        }
        // Still no room: the reader is not keeping up. Drop this packet.
        guard let destination else { throw PortWriteError(code: EAGAIN, operation: "write") }
        framer.writeRecord(packet, to: destination)
        writer.commit(length)
        bufferedPackets += 1
    }

    public func flush() throws(PortWriteError) {
        guard phase == .open, connected else { return }
        try drainStream()
    }

    public func tick(wallNanos: Int64) throws(PortWriteError) {
        guard phase == .open else { return }
        if connected {
            if writer.pendingCount > 0 { try drainStream() }
        } else if !isStandardOutput {
            let code = connectFIFO()
            if code != 0 {
                disconnectedCode = code
                disconnectedOperation = "open"
            }
        }
    }

    public func close() throws {
        guard phase == .open else {
            phase = .closed
            return
        }
        phase = .closed
        if connected {
            // Give a slow reader up to closeDrainMilliseconds (wall time, not attempts) to
            // take the rest; poll(2) sleeps until the pipe has room.
            let deadline = Self.monotonicMilliseconds() + Int64(closeDrainMilliseconds)
            while true {
                do {
                    if try writer.drain() {
                        bufferedPackets = 0
                        break
                    }
                } catch {
                    break
                }
                let remaining = deadline - Self.monotonicMilliseconds()
                guard remaining > 0 else { break }
                var request = pollfd(fd: writer.fileDescriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&request, 1, Int32(min(remaining, 100)))
            }
            lost.add(UInt64(bufferedPackets))
            bufferedPackets = 0
            writer.discardPending()
            if !isStandardOutput { FileSystem.closeDescriptor(writer.fileDescriptor) }
            connected = false
        }
        if let flags = savedStandardOutputFlags { _ = fcntl(standardOutput, F_SETFL, flags) }
    }

    // MARK: - Connection

    private static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    private func openStandardOutput() throws {
        let descriptor = standardOutput
        if isatty(descriptor) != 0 {
            throw PortSetupError.invalidSetting(
                port: name,
                reason: "standard output is a terminal; pipe it into a reader, e.g. `sidetap run … | tcpdump -r -`")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError(code: errno, operation: "fstat", path: "standard output") }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFIFO || kind == S_IFSOCK {
            let flags = fcntl(descriptor, F_GETFL)
            if flags >= 0, flags & O_NONBLOCK == 0 {
                savedStandardOutputFlags = flags
                _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
            }
        }
        connect(descriptor)
    }

    /// Creates the FIFO (and its directory) when missing; refuses anything else at the path.
    private func prepareFIFO() throws {
        let path = settings.path
        guard !path.isEmpty else { throw PortSetupError.invalidSetting(port: name, reason: "stream path is empty") }
        var info = stat()
        if stat(path, &info) == 0 {   // follows links: /dev/fd/N of a pipe works too
            guard info.st_mode & S_IFMT == S_IFIFO else {
                throw PortSetupError.invalidSetting(
                    port: name, reason: "'\(path)' exists and is not a named pipe (use kind: file to write a file)")
            }
            return
        }
        guard errno == ENOENT else { throw SystemError(code: errno, operation: "stat", path: path) }
        let directory = FileSystem.split(path).prefix
        if !directory.isEmpty { try FileSystem.makeDirectories(directory) }
        guard mkfifo(path, 0o600) == 0 else { throw SystemError(code: errno, operation: "mkfifo", path: path) }
    }

    /// Opens the FIFO for writing without waiting for a reader; 0 on success, else errno
    /// (ENXIO: no reader yet).
    private func connectFIFO() -> Int32 {
        var descriptor = FileSystem.openDescriptor(settings.path, flags: O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if descriptor < 0, errno == ENOENT, mkfifo(settings.path, 0o600) == 0 {   // removed while running
            descriptor = FileSystem.openDescriptor(settings.path, flags: O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        }
        guard descriptor >= 0 else { return errno }
        connect(descriptor)
        return 0
    }

    /// Starts a reader's stream with a fresh file header.
    private func connect(_ descriptor: Int32) {
        writer.attach(descriptor)
        _ = writer.append(header)
        bufferedPackets = 0
        connected = true
        connectionCount.add()
    }

    /// Writes what the pipe takes now; a failure other than EAGAIN means the reader is gone.
    /// Waits (poll for POLLOUT) until the reader has taken enough bytes for `length` more, or
    /// until it has taken nothing for `readerStallSeconds` (then the reader counts as stalled
    /// until a later drain makes progress).
    private func waitForRoom(_ length: Int) throws(PortWriteError) -> UnsafeMutableRawPointer? {
        let limit = Int(settings.readerStallSeconds * 1000)
        var waited = 0
        while waited < limit {
            var descriptor = pollfd(fd: writer.fileDescriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, 50)
            waited += 50
            let before = writer.pendingCount
            try drainStream()
            if let room = writer.reserve(length) { return room }
            if writer.pendingCount < before { waited = 0 }
        }
        readerStalled = true
        return nil
    }

    private func drainStream() throws(PortWriteError) {
        do {
            if try writer.drain() {
                bufferedPackets = 0
                readerStalled = false
            }
        } catch {
            lost.add(UInt64(bufferedPackets))
            bufferedPackets = 0
            writer.discardPending()
            if !isStandardOutput { FileSystem.closeDescriptor(writer.fileDescriptor) }
            writer.attach(-1)
            connected = false
            disconnectedCode = error.code
            disconnectedOperation = "write"
            throw error
        }
    }
}
