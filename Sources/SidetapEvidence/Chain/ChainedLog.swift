#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SidetapCore
import Synchronization

/// An append-only, hash-chained JSON-lines file (the audit log): each `append` writes one line,
/// `{"prev":…,"seq":N,…caller's fields}` with sorted keys, in a single `write` on a descriptor
/// opened with `O_APPEND`, optionally followed by `fsync`. Safe to share between tasks.
///
/// Opening an existing log reads only its last line to continue the chain (its `seq` and
/// hash); it does not verify the whole file — use `ChainVerifier` for that.
///
/// A torn tail — a last line without a newline, left by a crash or a full disk in the middle
/// of a write — is refused by default (`ChainedLogError.tornTail`, naming the byte offset where
/// the fragment starts), because appending after it would bury the fragment inside the file
/// where it reads as a malformed record. An operator (or the daemon, by policy) can choose
/// `.truncate`: the fragment is cut off (it was never a complete record) and described in
/// `droppedTail`, so the caller can append an audit record saying so.
public final class ChainedLog: Sendable {
    /// What `open` does with a last line that has no newline.
    public enum TornTailPolicy: Sendable {
        /// Throw `ChainedLogError.tornTail`; the file is left as it is.
        case refuse
        /// Cut the fragment off and continue after the last complete line.
        case truncate
    }

    /// A fragment cut off by `TornTailPolicy.truncate`.
    public struct DroppedTail: Sendable, Hashable {
        /// The byte offset where the fragment began (the new file size).
        public var offset: Int64
        /// The fragment's length in bytes.
        public var length: Int
        /// SHA-256 hex of the fragment.
        public var hash: String
    }

    private struct State {
        var head: ChainHead
        /// Set after a write failed part-way: the file may now end in a torn line.
        var failure: String?
    }

    /// The file's path.
    public let path: String
    /// Whether each record is `fsync`ed before `append` returns.
    public let syncEachRecord: Bool
    /// The fragment dropped at open, if the policy was `.truncate` and there was one.
    public let droppedTail: DroppedTail?
    private let descriptor: Int32
    private let state: Mutex<State>

    /// Opens (creating, mode 0600) the log at `path` and continues its chain.
    public init(path: String, syncEachRecord: Bool = false, tornTail policy: TornTailPolicy = .refuse) throws(ChainedLogError) {
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(SystemError(operation: "open", path: path)) }
        do throws(ChainedLogError) {
            let tail = try ChainedLog.readTail(fd: fd, path: path)
            var dropped: DroppedTail?
            if let fragment = tail.torn {
                switch policy {
                case .refuse:
                    throw ChainedLogError.tornTail(path: path, offset: fragment.offset, length: fragment.bytes.count)
                case .truncate:
                    guard ftruncate(fd, off_t(fragment.offset)) == 0 else {
                        throw ChainedLogError.system(SystemError(operation: "ftruncate", path: path))
                    }
                    dropped = DroppedTail(offset: fragment.offset, length: fragment.bytes.count,
                                          hash: ChainRecord.hash(of: fragment.bytes))
                }
            }
            var head = ChainHead.genesis
            if let last = tail.lastLine {
                switch ChainRecord.link(of: last.bytes) {
                case .success(let link):
                    head = ChainHead(seq: link.seq, hash: ChainRecord.hash(of: last.bytes))
                case .failure(let error):
                    throw ChainedLogError.malformedLastRecord(path: path, offset: last.offset, reason: error.description)
                }
            }
            self.path = path
            self.syncEachRecord = syncEachRecord
            self.droppedTail = dropped
            self.descriptor = fd
            self.state = Mutex(State(head: head, failure: nil))
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// The last record written (genesis for an empty log).
    public var head: ChainHead { state.withLock { $0.head } }

    /// Appends one record with `fields` (which may not use `seq` or `prev`) and returns its
    /// chain point. After a failed write the log refuses further appends: reopen it.
    @discardableResult
    public func append(_ fields: [String: JSONValue]) throws(ChainedLogError) -> ChainHead {
        try state.withLock { (state: inout State) throws(ChainedLogError) -> ChainHead in
            if let failure = state.failure { throw .unusable(path: path, reason: failure) }
            let line: [UInt8]
            do throws(ChainRecordError) {
                line = try ChainRecord.encode(fields, after: state.head)
            } catch {
                throw .record(error)
            }
            try writeRecord(line + [0x0A], state: &state)
            let head = ChainHead(seq: state.head.seq + 1, hash: ChainRecord.hash(of: line))
            state.head = head
            return head
        }
    }

    /// Appends an `Encodable` value's fields (it must encode as a JSON object).
    @discardableResult
    public func append(encoding value: some Encodable) throws(ChainedLogError) -> ChainHead {
        let fields: [String: JSONValue]
        do throws(ChainRecordError) {
            fields = try ChainRecord.fields(of: value)
        } catch {
            throw .record(error)
        }
        return try append(fields)
    }

    private func writeRecord(_ bytes: [UInt8], state: inout State) throws(ChainedLogError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let error = SystemError(operation: "write", path: path)
                if written > 0 { state.failure = "a write stopped after \(written) of \(bytes.count) bytes: \(error)" }
                throw .system(error)
            }
            written += result
        }
        if syncEachRecord, fsync(descriptor) != 0 {
            throw .system(SystemError(operation: "fsync", path: path))
        }
    }

    private struct Tail {
        var lastLine: (offset: Int64, bytes: [UInt8])?
        var torn: (offset: Int64, bytes: [UInt8])?
    }

    /// Reads backwards from the end until the last complete line (and any torn fragment
    /// after it) is in hand.
    private static func readTail(fd: Int32, path: String) throws(ChainedLogError) -> Tail {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(SystemError(operation: "fstat", path: path)) }
        let size = Int64(info.st_size)
        if size == 0 { return Tail() }
        var buffer: [UInt8] = []
        var bufferStart = size
        let chunk: Int64 = 64 * 1024
        // Find the newline that ends the last complete line, and the one before it.
        func newlines() -> [Int64] {
            buffer.indices.filter { buffer[$0] == 0x0A }.map { bufferStart + Int64($0) }
        }
        while true {
            let found = newlines()
            // Two newlines bound the last complete line (the file start counts as one).
            if found.count >= 2 || bufferStart == 0 { break }
            let readStart = max(0, bufferStart - chunk)
            var piece = [UInt8](repeating: 0, count: Int(bufferStart - readStart))
            var got = 0
            while got < piece.count {
                let result = piece.withUnsafeMutableBytes { raw in
                    pread(fd, raw.baseAddress! + got, raw.count - got, off_t(readStart) + off_t(got))
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw .system(SystemError(operation: "pread", path: path))
                }
                if result == 0 { throw .system(SystemError(code: EIO, operation: "pread (file shrank)", path: path)) }
                got += result
            }
            buffer = piece + buffer
            bufferStart = readStart
        }
        let found = newlines()
        var tail = Tail()
        // The torn fragment: bytes after the last newline.
        let lastNewline = found.last
        let fragmentStart = lastNewline.map { $0 + 1 } ?? 0
        if fragmentStart < size {
            tail.torn = (fragmentStart, Array(buffer[Int(fragmentStart - bufferStart)...]))
        }
        if let lastNewline {
            let lineStart = found.count >= 2 ? found[found.count - 2] + 1 : 0
            tail.lastLine = (lineStart, Array(buffer[Int(lineStart - bufferStart)..<Int(lastNewline - bufferStart)]))
        }
        return tail
    }
}

/// Why a chained log could not be opened or appended to.
public enum ChainedLogError: Error, Sendable, CustomStringConvertible {
    /// The file ends in a line without a newline (an interrupted write).
    case tornTail(path: String, offset: Int64, length: Int)
    /// The last complete line is not a chain record.
    case malformedLastRecord(path: String, offset: Int64, reason: String)
    /// A record could not be encoded.
    case record(ChainRecordError)
    /// An earlier write failed part-way; the log must be reopened (and its tail checked).
    case unusable(path: String, reason: String)
    /// An OS call failed.
    case system(SystemError)

    public var description: String {
        switch self {
        case .tornTail(let path, let offset, let length):
            return "\(path): the last line (\(length) bytes at byte offset \(offset)) has no newline: a write was cut off; verify the log, then truncate it to \(offset) bytes or open it with the truncate policy"
        case .malformedLastRecord(let path, let offset, let reason):
            return "\(path): the last line (at byte offset \(offset)) is not a chain record: \(reason)"
        case .record(let error):
            return "\(error)"
        case .unusable(let path, let reason):
            return "\(path): the log no longer accepts records: \(reason); reopen it"
        case .system(let error):
            return "\(error)"
        }
    }
}
