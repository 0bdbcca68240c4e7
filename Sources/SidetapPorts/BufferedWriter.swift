#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SidetapCore
import SidetapEvidence

/// A fixed buffer in front of a file descriptor: records are assembled in place and go out
/// in large write(2) calls.
///
/// No allocation after init. `drain` retries EINTR and continues partial writes; on EAGAIN
/// (a non-blocking pipe that is full) it stops and keeps the unwritten bytes for next time,
/// so a stream never loses record alignment and the caller never spins.
final class BufferedWriter {
    static let defaultCapacity = 1 << 20

    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    /// First byte not yet written.
    private var start = 0
    /// One past the last buffered byte.
    private var end = 0
    /// Where `drain` writes; -1 when detached.
    var fileDescriptor: Int32 = -1
    /// Bytes written to `fileDescriptor` since it was attached.
    private(set) var bytesWritten: Int64 = 0
    /// When set, every byte `drain` writes is added to it (a file's digest without a second read).
    var digest: StreamingSHA256?

    init(capacity: Int = BufferedWriter.defaultCapacity) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Bytes buffered and not yet written.
    var pendingCount: Int { end - start }

    /// Points `drain` at `descriptor` with an empty buffer.
    func attach(_ descriptor: Int32, alreadyWritten: Int64 = 0) {
        fileDescriptor = descriptor
        start = 0
        end = 0
        bytesWritten = alreadyWritten
    }

    /// Forgets the buffered bytes (their destination failed).
    func discardPending() {
        start = 0
        end = 0
    }

    /// Forgets bytes counted as written beyond `count` (after the file was truncated back).
    func resetBytesWritten(to count: Int64) {
        bytesWritten = count
    }

    /// Room for `count` more bytes at the end of the buffer, moving pending bytes to the
    /// front if that makes room; nil when the buffer cannot take them without a drain.
    func reserve(_ count: Int) -> UnsafeMutableRawPointer? {
        if capacity - end >= count { return storage + end }
        if capacity - (end - start) < count { return nil }
        let pending = end - start
        if pending > 0 { storage.copyMemory(from: storage + start, byteCount: pending) }
        start = 0
        end = pending
        return storage + end
    }

    /// Marks `count` reserved bytes as filled.
    func commit(_ count: Int) {
        end += count
    }

    /// Appends `bytes` if they fit; false when a drain is needed first.
    func append(_ bytes: [UInt8]) -> Bool {
        guard let destination = reserve(bytes.count) else { return false }
        bytes.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        commit(bytes.count)
        return true
    }

    /// Writes the buffered bytes. Returns true when everything went out, false when the
    /// descriptor would block (the rest stays buffered). Throws on any other error; the bytes
    /// not written stay buffered, and the caller decides whether to discard them.
    func drain() throws(PortWriteError) -> Bool {
        while start < end {
            let written = write(fileDescriptor, storage + start, end - start)
            if written > 0 {
                digest?.update(UnsafeRawBufferPointer(start: storage + start, count: written))
                start += written
                bytesWritten += Int64(written)
                continue
            }
            if written == 0 { throw PortWriteError(code: EIO, operation: "write") }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return false }
            throw PortWriteError(code: code, operation: "write")
        }
        start = 0
        end = 0
        return true
    }
}
