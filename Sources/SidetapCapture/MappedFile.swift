import Glibc
import SidetapCore

/// A whole regular file mapped read-only (`mmap` PROT_READ, MAP_PRIVATE), advised for
/// sequential reading. The bytes stay valid until `unmap()`.
final class MappedFile {
    /// First byte of the mapping.
    let base: UnsafeRawPointer
    /// Length of the file (and of the mapping) in bytes.
    let size: Int
    private var mapped = true
    /// Faults pages in ahead of the reader when the file was not populated at once.
    let populator: PopulateAhead?

    /// Maps `path`. `populate` pre-faults every page at once (MAP_POPULATE): the cost moves to
    /// the open and reading never waits on a page fault. Otherwise a `PopulateAhead` thread
    /// faults pages in a window ahead of the reader. An empty file cannot be mapped.
    init(path: String, populate: Bool) throws(SystemError) {
        let fd = try FileIO.openReadOnly(path)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError(operation: "fstat", path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SystemError(code: ENODEV, operation: "mmap (not a regular file)", path: path) }
        guard info.st_size > 0 else { throw SystemError(code: EINVAL, operation: "mmap (empty file)", path: path) }
        let length = Int(info.st_size)
        let flags = MAP_PRIVATE | (populate ? MAP_POPULATE : 0)
        guard let address = mmap(nil, length, PROT_READ, flags, fd, 0), address != MAP_FAILED else {
            throw SystemError(operation: "mmap", path: path)
        }
        _ = madvise(address, length, MADV_SEQUENTIAL)
        base = UnsafeRawPointer(address)
        size = length
        populator = populate ? nil : PopulateAhead(base: base, size: length)
        populator?.start()
    }

    /// The whole file as a buffer.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// Unmaps the file; idempotent.
    func unmap() {
        guard mapped else { return }
        mapped = false
        populator?.stop()
        munmap(UnsafeMutableRawPointer(mutating: base), size)
    }

    deinit { unmap() }
}
