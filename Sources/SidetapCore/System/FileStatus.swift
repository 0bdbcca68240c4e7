#if canImport(Glibc)
import Glibc
#endif

/// What kind of file a path names (`stat(2)`), for readers that must treat a regular file
/// (which can be mapped or opened twice) differently from a pipe or a device (read once).
public enum FileStatus {
    /// True when `path` names a regular file; false for anything else or a path that cannot
    /// be examined.
    public static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & S_IFMT == S_IFREG
    }
}
