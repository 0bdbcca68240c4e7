import Glibc
import SidetapCore

/// The few file calls the file sources make, with EINTR retried and errors typed.
enum FileIO {
    /// Opens `path` read-only (close-on-exec); `open(2)`.
    static func openReadOnly(_ path: String) throws(SystemError) -> Int32 {
        while true {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            if errno != EINTR { throw SystemError(operation: "open", path: path) }
        }
    }

    /// Reads up to `buffer.count` bytes from the start of `path`; the count read, or -1.
    static func readPrefix(path: String, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let fd = try? openReadOnly(path) else { return -1 }
        defer { Glibc.close(fd) }
        var total = 0
        while total < buffer.count {
            let got = Glibc.read(fd, buffer.baseAddress! + total, buffer.count - total)
            if got > 0 {
                total += got
            } else if got == 0 {
                break
            } else if errno != EINTR {
                return -1
            }
        }
        return total
    }
}
