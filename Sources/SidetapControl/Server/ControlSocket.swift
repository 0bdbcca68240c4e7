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
        if ControlClient.isAnswering(path) {
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
}
