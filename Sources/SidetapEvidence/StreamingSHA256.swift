#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import SidetapCore

/// SHA-256 fed piece by piece: a file port hashes each buffer as it writes it, so a finished
/// capture file's digest costs no second read. `update` does not allocate.
public struct StreamingSHA256: Sendable {
    private var hasher = SHA256()

    public init() {}

    /// Adds `bytes` to the digest.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The digest of everything added, as 64 lowercase hex digits (the value stays usable).
    public func finalize() -> String {
        SHA256Hex.hex(hasher.finalize())
    }

    /// Streams the file at `path` through SHA-256: its digest and size in bytes.
    public static func digest(ofFileAt path: String) throws(SystemError) -> (sha256: String, size: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError(operation: "open", path: path) }
        defer { close(fd) }
        var hasher = StreamingSHA256()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var size: Int64 = 0
        while true {
            let got = read(fd, buffer, chunk)
            if got < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "read", path: path)
            }
            if got == 0 { break }
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: got))
            size += Int64(got)
        }
        return (hasher.finalize(), size)
    }
}
