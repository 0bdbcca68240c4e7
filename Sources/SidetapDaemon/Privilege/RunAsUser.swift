#if canImport(Glibc)
import Glibc
#endif

/// The account `sidetap run --user NAME [--group GROUP]` switches to: its ids and
/// supplementary groups, looked up once before anything starts.
public struct RunAsUser: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var uid: UInt32
    /// The primary group: `--group` when given, else the user's own.
    public var gid: UInt32
    public var groupName: String
    /// The user's supplementary groups (as `initgroups` would set them), plus `gid`.
    public var groups: [UInt32]

    /// Why a user or group cannot be used.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Looks `name` up (a name or a numeric uid) in the password database, and `group` (a name
    /// or gid) in the group database when given.
    public init(name: String, group: String? = nil) throws(Failure) {
        guard let entry = Self.passwordEntry(name) else {
            throw Failure(description: "--user \(name): no such user")
        }
        self.name = entry.name
        uid = entry.uid
        if let group {
            guard let found = Self.groupEntry(group) else { throw Failure(description: "--group \(group): no such group") }
            gid = found.gid
            groupName = found.name
        } else {
            gid = entry.gid
            groupName = Self.groupName(entry.gid) ?? String(entry.gid)
        }
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(entry.name, gid, &list, &count) < 0 {
            guard count < 65_536 else { throw Failure(description: "--user \(name): too many groups") }
            count = max(count, Int32(list.count * 2))
            list = [gid_t](repeating: 0, count: Int(count))
        }
        var groups = Array(list.prefix(Int(count)).map { UInt32($0) })
        if !groups.contains(gid) { groups.insert(gid, at: 0) }
        self.groups = groups
    }

    public var description: String { "\(name) (uid \(uid), gid \(gid) \(groupName))" }

    private static func passwordEntry(_ name: String) -> (name: String, uid: UInt32, gid: UInt32)? {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16_384)
        var status = getpwnam_r(name, &record, &buffer, buffer.count, &result)
        if (status != 0 || result == nil), let number = UInt32(name) {
            status = getpwuid_r(number, &record, &buffer, buffer.count, &result)
        }
        guard status == 0, result != nil else { return nil }
        return (String(cString: record.pw_name), record.pw_uid, record.pw_gid)
    }

    private static func groupEntry(_ name: String) -> (name: String, gid: UInt32)? {
        var record = group()
        var result: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 65_536)
        var status = getgrnam_r(name, &record, &buffer, buffer.count, &result)
        if (status != 0 || result == nil), let number = UInt32(name) {
            status = getgrgid_r(number, &record, &buffer, buffer.count, &result)
            if status == 0, result == nil { return (name, number) }
        }
        guard status == 0, result != nil else { return nil }
        return (String(cString: record.gr_name), record.gr_gid)
    }

    private static func groupName(_ gid: UInt32) -> String? {
        var record = group()
        var result: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 65_536)
        guard getgrgid_r(gid, &record, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: record.gr_name)
    }
}
