#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SidetapCore

/// The few file-system calls the file and stream ports make outside the packet path.
enum FileSystem {
    /// Splits a path into the directory prefix (up to and including the last "/", possibly
    /// empty) and the last component.
    static func split(_ path: String) -> (prefix: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }

    /// Creates `directory` and any missing parents (like `mkdir -p`), mode 0755.
    static func makeDirectories(_ directory: String) throws(SystemError) {
        var partial = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            partial += component
            if mkdir(partial, 0o755) != 0 {
                let code = errno
                var info = stat()
                guard code == EEXIST, stat(partial, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                    throw SystemError(code: code == EEXIST ? ENOTDIR : code, operation: "create directory", path: partial)
                }
            }
            partial += "/"
        }
    }

    /// Names in `directory` (a prefix as `split` returns it; empty means the current directory).
    static func entries(of directory: String) throws(SystemError) -> [String] {
        let target = directory.isEmpty ? "." : directory
        guard let handle = opendir(target) else {
            throw SystemError(code: errno, operation: "list directory", path: target)
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// open(2) with a mode.
    static func openDescriptor(_ path: String, flags: Int32, mode: mode_t = 0) -> Int32 {
        #if canImport(Glibc)
        return Glibc.open(path, flags, mode)
        #else
        return Darwin.open(path, flags, mode)
        #endif
    }

    /// close(2); false (errno set) when the close reported an error other than EINTR.
    @discardableResult
    static func closeDescriptor(_ descriptor: Int32) -> Bool {
        #if canImport(Glibc)
        let result = Glibc.close(descriptor)
        #else
        let result = Darwin.close(descriptor)
        #endif
        return result == 0 || errno == EINTR
    }

    /// True when something exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The UTC time of `wallNanos` as `yyyyMMdd'T'HHmmss`.
    static func utcStamp(wallNanos: Int64) -> String {
        var seconds = time_t(splitNanos(wallNanos).seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return digits(parts.tm_year + 1900, 4) + digits(parts.tm_mon + 1, 2) + digits(parts.tm_mday, 2)
            + "T" + digits(parts.tm_hour, 2) + digits(parts.tm_min, 2) + digits(parts.tm_sec, 2)
    }
}
