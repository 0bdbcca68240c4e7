#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SidetapCore

/// Timestamp resolution of a classic pcap file.
public enum PcapTimestampPrecision: Sendable, Hashable {
    /// Magic 0xA1B2C3D4, microseconds.
    case microseconds
    /// Magic 0xA1B23C4D, nanoseconds.
    case nanoseconds

    /// The file's magic number.
    public var magic: UInt32 { self == .microseconds ? 0xA1B2_C3D4 : 0xA1B2_3C4D }
}

/// Streams a classic pcap file (host byte order, as libpcap writes it) with large buffered
/// writes straight to the file descriptor. Not thread-safe; `close()` flushes and reports
/// the last error, deinit closes without reporting.
public final class PcapWriter {
    /// The path being written.
    public let path: String
    public let linkType: LinkType
    public let precision: PcapTimestampPrecision
    public let snaplen: UInt32
    /// Records written so far.
    public private(set) var packetCount = 0
    private var descriptor: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0

    /// Creates (truncates) `path` and writes the file header.
    public init(
        path: String, linkType: LinkType = .ethernet, precision: PcapTimestampPrecision = .microseconds,
        snaplen: UInt32 = 262_144, bufferCapacity: Int = 4 << 20
    ) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError(operation: "open", path: path) }
        self.path = path
        self.linkType = linkType
        self.precision = precision
        self.snaplen = snaplen
        descriptor = fd
        capacity = max(bufferCapacity, 64 << 10)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        put32(precision.magic)
        put16(2)
        put16(4)
        put32(0)            // thiszone
        put32(0)            // sigfigs
        put32(snaplen)
        put32(UInt32(bitPattern: linkType.rawValue))
    }

    deinit {
        if descriptor >= 0 {
            _ = try? flush()
            systemClose(descriptor)
        }
        buffer.deallocate()
    }

    private func put32(_ value: UInt32) {
        buffer.storeBytes(of: value, toByteOffset: used, as: UInt32.self)
        used += 4
    }

    private func put16(_ value: UInt16) {
        buffer.storeBytes(of: value, toByteOffset: used, as: UInt16.self)
        used += 2
    }

    /// Appends one record. `bytes` beyond the snaplen are cut; `wireLength` defaults to the
    /// byte count.
    public func write(_ bytes: UnsafeRawBufferPointer, timestampNanos: Int64, wireLength: UInt32? = nil) throws(SystemError) {
        let captured = min(bytes.count, Int(snaplen))
        if used + 16 + captured > capacity { try flush() }
        let seconds = timestampNanos >= 0 ? timestampNanos / 1_000_000_000 : (timestampNanos + 1) / 1_000_000_000 - 1
        let fraction = timestampNanos - seconds * 1_000_000_000
        put32(UInt32(truncatingIfNeeded: seconds))
        put32(UInt32(truncatingIfNeeded: precision == .microseconds ? fraction / 1000 : fraction))
        put32(UInt32(captured))
        put32(wireLength ?? UInt32(bytes.count))
        if captured > 0 {
            if captured > capacity - used {
                // A record larger than the buffer goes out directly.
                try flush()
                try writeAll(UnsafeRawBufferPointer(rebasing: bytes[0..<captured]))
            } else {
                (buffer + used).copyMemory(from: bytes.baseAddress!, byteCount: captured)
                used += captured
            }
        }
        packetCount += 1
    }

    /// Writes `bytes` (an array or other contiguous bytes) as one record.
    public func write(_ bytes: [UInt8], timestampNanos: Int64) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try write(raw, timestampNanos: timestampNanos) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes the buffered records to the file.
    public func flush() throws(SystemError) {
        guard used > 0 else { return }
        let pending = UnsafeRawBufferPointer(start: buffer, count: used)
        used = 0
        try writeAll(pending)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        guard descriptor >= 0 else { throw SystemError(code: EBADF, operation: "write", path: path) }
        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "write", path: path)
            }
            offset += n
        }
    }

    /// Flushes and closes the file; later writes fail with EBADF.
    public func close() throws(SystemError) {
        guard descriptor >= 0 else { return }
        defer {
            systemClose(descriptor)
            descriptor = -1
        }
        try flush()
    }
}

/// `close(2)`, outside the class so the name is not shadowed by `PcapWriter.close()`.
private func systemClose(_ descriptor: Int32) { _ = close(descriptor) }

/// `write(2)`, outside the class so the name is not shadowed by `PcapWriter.write`.
private func systemWrite(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, pointer, count)
}
