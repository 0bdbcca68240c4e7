#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// One thread's identity and privilege as /proc/PID/task/TID/status shows it: the fields a
/// least-privilege check reads.
public struct ThreadCredentials: Hashable, Sendable, CustomStringConvertible {
    /// The thread id.
    public var thread: Int
    /// The thread's name (`Name:`).
    public var name: String
    /// The state letter (`State: S (sleeping)` is `S`).
    public var state: String
    /// Real, effective, saved and filesystem user ids (`Uid:`).
    public var uids: [UInt32]
    /// Real, effective, saved and filesystem group ids (`Gid:`).
    public var gids: [UInt32]
    /// Supplementary groups (`Groups:`).
    public var groups: [UInt32]
    public var inheritable: CapabilitySet
    public var permitted: CapabilitySet
    public var effective: CapabilitySet
    public var bounding: CapabilitySet
    public var ambient: CapabilitySet
    /// `NoNewPrivs: 1`.
    public var noNewPrivileges: Bool

    /// Parses a status file's text; nil when a field this type needs is missing or malformed.
    public init?(thread: Int, status text: String) {
        var fields: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        func numbers(_ key: Substring) -> [UInt32]? {
            guard let value = fields[key] else { return nil }
            let parts = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let parsed = parts.compactMap { UInt32($0) }
            return parsed.count == parts.count ? parsed : nil
        }
        func set(_ key: Substring) -> CapabilitySet? { fields[key].flatMap { CapabilitySet(hex: $0) } }
        guard let uids = numbers("Uid"), uids.count == 4, let gids = numbers("Gid"), gids.count == 4,
              let inheritable = set("CapInh"), let permitted = set("CapPrm"), let effective = set("CapEff"),
              let bounding = set("CapBnd"), let ambient = set("CapAmb"),
              let noNewPrivileges = fields["NoNewPrivs"].flatMap({ Int($0.filter { !$0.isWhitespace }) }) else { return nil }
        self.thread = thread
        self.name = fields["Name"].map { String($0.drop { $0 == " " || $0 == "\t" }) } ?? ""
        self.state = fields["State"].flatMap { $0.first { $0 != " " && $0 != "\t" } }.map(String.init) ?? "?"
        self.uids = uids
        self.gids = gids
        self.groups = numbers("Groups") ?? []
        self.inheritable = inheritable
        self.permitted = permitted
        self.effective = effective
        self.bounding = bounding
        self.ambient = ambient
        self.noNewPrivileges = noNewPrivileges == 1
    }

    /// True for a thread that has ended but is still listed: a zombie (`Z`), such as the main
    /// thread after `dispatch_main` ended it while the process lives on. It runs nothing, and
    /// /proc shows the credentials it had when it ended.
    public var hasExited: Bool { state == "Z" || state == "X" }

    /// Every thread of process `pid` (`nil`: this process), read from /proc. Threads that end
    /// while being read are left out. Throws when the task directory cannot be listed.
    public static func all(pid: Int32? = nil) throws -> [ThreadCredentials] {
        let base = pid.map { "/proc/\($0)/task" } ?? "/proc/self/task"
        let entries = try FileManager.default.contentsOfDirectory(atPath: base)
        return entries.compactMap { entry -> ThreadCredentials? in
            guard let tid = Int(entry), let text = try? String(contentsOfFile: "\(base)/\(entry)/status", encoding: .utf8) else { return nil }
            return ThreadCredentials(thread: tid, status: text)
        }.sorted { $0.thread < $1.thread }
    }

    /// The ways this thread differs from running as `uid`/`gid` with exactly `kept` (permitted,
    /// effective and bounding), nothing inheritable or ambient, and no_new_privs; empty when
    /// it matches.
    public func differences(uid: UInt32, gid: UInt32, kept: CapabilitySet) -> [String] {
        var problems: [String] = []
        if uids.contains(where: { $0 != uid }) { problems.append("Uid \(uids.map(String.init).joined(separator: " "))") }
        if gids.contains(where: { $0 != gid }) { problems.append("Gid \(gids.map(String.init).joined(separator: " "))") }
        if !inheritable.isEmpty { problems.append("CapInh \(inheritable.hex)") }
        if !ambient.isEmpty { problems.append("CapAmb \(ambient.hex)") }
        if permitted != kept { problems.append("CapPrm \(permitted.hex)") }
        if effective != kept { problems.append("CapEff \(effective.hex)") }
        if bounding.mask & ~kept.mask != 0 { problems.append("CapBnd \(bounding.hex)") }
        if !noNewPrivileges { problems.append("NoNewPrivs 0") }
        return problems
    }

    public var description: String {
        "thread \(thread) (\(name), \(state)): Uid \(uids.map(String.init).joined(separator: " ")), Gid \(gids.map(String.init).joined(separator: " ")), "
            + "CapInh \(inheritable.hex) CapPrm \(permitted.hex) CapEff \(effective.hex) CapBnd \(bounding.hex) CapAmb \(ambient.hex), NoNewPrivs \(noNewPrivileges ? 1 : 0)"
    }
}
