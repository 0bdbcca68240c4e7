#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where the local control socket lives and how it is prepared: the path, its directory,
/// a stale socket left by a crashed run, and restrictive permissions.
///
/// The Unix socket is the local administration channel: whoever can open it can read
/// everything Sidetap exposes, so it is created mode 0660 in a directory only its owner (and
/// group) can enter.
public enum ControlSocket {
    /// `/run/sidetap/control.sock` for root; `$XDG_RUNTIME_DIR/sidetap/control.sock` or
    /// `/tmp/sidetap-<uid>/control.sock` for other users.
    public static func defaultPath() -> String {
        if getuid() == 0 { return "/run/sidetap/control.sock" }
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return runtime + "/sidetap/control.sock"
        }
        return "/tmp/sidetap-\(getuid())/control.sock"
    }

    /// Why the socket cannot be used.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var reason: String
        public var description: String { "control socket \(path): \(reason)" }
    }

    /// Prepares `path` for binding: creates its directory (0750), refuses a socket another
    /// running Sidetap answers on, and removes a stale one.
    public static func prepare(_ path: String) throws(Problem) {
        guard path.utf8.count < 108 else { throw Problem(path: path, reason: "longer than the 107 bytes a Unix socket path may have") }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
            } catch {
                throw Problem(path: path, reason: "cannot create \(directory): \(error.localizedDescription)")
            }
        }
        // attributesOfItem uses lstat (a symlink is not followed). `struct stat` itself is not
        // usable here: in release builds its members resolve to CDispatch's copy of the C type.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }
        guard attributes[.type] as? FileAttributeType == .typeSocket else { throw Problem(path: path, reason: "exists and is not a socket") }
        if isAnswering(path) {
            throw Problem(path: path, reason: "another Sidetap is answering on it")
        }
        unlink(path)
    }

    /// Restricts the bound socket to its owner and group (0660).
    public static func restrict(_ path: String) {
        chmod(path, 0o660)
    }

    /// Removes the socket file at shutdown.
    public static func remove(_ path: String) {
        unlink(path)
    }

    /// True when something accepts connections on the socket at `path`.
    public static func isAnswering(_ path: String) -> Bool {
        guard let fd = try? connectOnce(path) else { return false }
        close(fd)
        return true
    }

    /// A connected Unix stream socket to `path` (one second send/receive timeouts).
    private static func connectOnce(_ path: String) throws(Problem) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Problem(path: path, reason: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Problem(path: path, reason: "path too long for a Unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Problem(path: path, reason: reason)
        }
        return fd
    }

}
