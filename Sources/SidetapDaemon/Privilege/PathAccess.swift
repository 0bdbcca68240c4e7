import Foundation

/// Whether a user (not the caller, which is still root) may write a path, from its owner,
/// group and mode bits and the search bits of every directory above it. ACLs are not read.
enum PathAccess {
    /// True when `user` can create files in `directory`.
    static func userCanCreate(in directory: String, user: RunAsUser) -> Bool {
        let absolute = absolutePath(directory)
        return canSearchAncestors(of: absolute, user: user) && allows(absolute, user: user, bits: 0o3)
    }

    /// True when `user` can open `path` for writing (an existing file), or create it.
    static func userCanWrite(_ path: String, user: RunAsUser) -> Bool {
        let absolute = absolutePath(path)
        guard canSearchAncestors(of: absolute, user: user) else { return false }
        if FileManager.default.fileExists(atPath: absolute) { return allows(absolute, user: user, bits: 0o2) }
        return allows((absolute as NSString).deletingLastPathComponent, user: user, bits: 0o3)
    }

    private static func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    private static func canSearchAncestors(of path: String, user: RunAsUser) -> Bool {
        var directory = (path as NSString).deletingLastPathComponent
        while !directory.isEmpty {
            if !allows(directory, user: user, bits: 0o1) { return false }
            if directory == "/" { break }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return true
    }

    /// True when the rwx `bits` (0o1 search/execute, 0o2 write, 0o4 read) are all granted to `user`.
    private static func allows(_ path: String, user: RunAsUser, bits: Int) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue,
              let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value,
              let group = (attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value else { return false }
        if user.uid == 0 { return true }
        let granted = owner == user.uid ? (mode >> 6) & 7 : user.groups.contains(group) ? (mode >> 3) & 7 : mode & 7
        return granted & bits == bits
    }
}
