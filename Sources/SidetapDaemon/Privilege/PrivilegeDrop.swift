#if canImport(Glibc)
import Glibc
#endif
import CSidetapLinux
import Foundation
import Logging

/// `sidetap run --user NAME`: after everything that needs privilege is open, switch every
/// thread to the user and keep only the capabilities the `PrivilegePlan` names, with nothing
/// inheritable or ambient, the bounding set reduced to the kept set and no_new_privs set.
///
/// Order in the run path: `checkBeforeStart` (root, paths the user will need), engine start
/// (captures, TAP devices, sockets, files), `prepareControlDirectory`, control listeners bound,
/// `handOver` (chown what Sidetap created), `apply` (the drop, then every thread checked in
/// /proc). Any failure is fatal: Sidetap never runs half-dropped.
public struct PrivilegeDrop: Sendable {
    public let user: RunAsUser
    public let plan: PrivilegePlan
    /// How long each per-thread step may take to be answered by every thread.
    public let timeoutMilliseconds: Int32
    /// Files Sidetap created and keeps using that are handed to the user (the audit log).
    public let ownedPaths: [String]

    /// Why the drop cannot happen, or failed.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(user: RunAsUser, plan: PrivilegePlan, ownedPaths: [String] = [], timeoutMilliseconds: Int32 = 5_000) {
        self.user = user
        self.plan = plan
        self.ownedPaths = ownedPaths
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The drop for `config`: the plan from the config, and the audit log handed over when the
    /// control channel runs (`controlPlane`).
    public init(user: RunAsUser, config: SidetapConfig, controlPlane: Bool) {
        self.init(user: user, plan: PrivilegePlan(config: config, controlPlane: controlPlane),
                  ownedPaths: controlPlane ? [config.control.resolvedAuditPath] : [])
    }

    /// Checks, before anything starts, that the drop can work: Sidetap runs as root, and every
    /// directory it writes into after the drop (a rotating file port's directory) is
    /// writable by the user. Returns warnings for paths that only matter in some cases.
    public func checkBeforeStart(_ config: SidetapConfig) throws(Failure) -> [String] {
        guard geteuid() == 0 else {
            throw Failure(description: "--user \(user.name) needs Sidetap to start as root (it runs as uid \(geteuid())): it opens captures and devices first, then switches")
        }
        var warnings: [String] = []
        for port in config.ports {
            guard let path = port.path, path != "-" else { continue }
            switch port.kind {
            case .file where port.rotate != nil:
                let directory = (path as NSString).deletingLastPathComponent
                let dir = directory.isEmpty ? "." : directory
                if !PathAccess.userCanCreate(in: dir, user: user) {
                    throw Failure(description: "port '\(port.name)' (\(port.location)): rotated files go into \(dir), which user \(user.name) cannot write after the drop; chown it to \(user.name) or choose another directory")
                }
            case .stream:
                if !PathAccess.userCanWrite(path, user: user) {
                    warnings.append("port '\(port.name)': \(path) cannot be re-opened by user \(user.name) after its reader leaves (it is opened once, as root)")
                }
            default:
                continue
            }
        }
        return warnings
    }

    /// Creates the control socket's directory (0750, owned by the user) when it does not
    /// exist yet, so the user can remove and re-create the socket after the drop.
    public func prepareControlDirectory(socketPath: String?) throws(Failure) {
        guard let socketPath else { return }
        let directory = (socketPath as NSString).deletingLastPathComponent
        guard !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw Failure(description: "control socket directory \(directory): \(error.localizedDescription)")
        }
        guard chown(directory, user.uid, user.gid) == 0 else {
            throw Failure(description: "control socket directory \(directory): chown to \(user.name): \(String(cString: strerror(errno)))")
        }
    }

    /// Gives the user what Sidetap created and keeps using: the control socket (mode 0660, so
    /// its group can still connect) and the audit log. Paths that do not exist are skipped.
    public func handOver(paths: [String]) throws(Failure) {
        for path in paths where FileManager.default.fileExists(atPath: path) {
            guard chown(path, user.uid, user.gid) == 0 else {
                throw Failure(description: "\(path): chown to \(user.name): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Switches every thread to the user with only the planned capabilities, then reads every
    /// thread's status back from /proc and throws unless each one matches exactly.
    @discardableResult
    public func apply() throws(Failure) -> [ThreadCredentials] {
        var message = [CChar](repeating: 0, count: 512)
        let groups = user.groups.map { CUnsignedInt($0) }
        let status = groups.withUnsafeBufferPointer { list in
            CSidetapLinux_dropPrivileges(user.uid, user.gid, list.baseAddress, Int32(list.count), plan.kept.mask,
                                         timeoutMilliseconds, &message, Int32(message.count))
        }
        guard status == 0 else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw Failure(description: "dropping privileges to \(user.name) failed: \(text)")
        }
        return try verify()
    }

    /// Reads every running thread of this process from /proc and throws naming the first that
    /// is not exactly as planned. Threads that have ended (zombies) are skipped.
    public func verify() throws(Failure) -> [ThreadCredentials] {
        let threads: [ThreadCredentials]
        do {
            threads = try ThreadCredentials.all()
        } catch {
            throw Failure(description: "cannot read /proc/self/task to check the drop: \(error)")
        }
        guard threads.contains(where: { !$0.hasExited }) else { throw Failure(description: "no running thread could be read from /proc/self/task") }
        // A thread that has ended (the main thread, once dispatch_main ended it) runs nothing;
        // the glibc and signal broadcasts cannot reach it and need not.
        for thread in threads where !thread.hasExited {
            let problems = thread.differences(uid: user.uid, gid: user.gid, kept: plan.kept)
            if !problems.isEmpty {
                throw Failure(description: "after the drop, thread \(thread.thread) (\(thread.name)) still has \(problems.joined(separator: ", "))")
            }
        }
        return threads
    }

    /// Logs the plan: one line per kept capability with its reason, or that none is kept.
    public func logPlan(_ logger: Logger) {
        if plan.grants.isEmpty {
            logger.notice("least privilege: dropping to \(user) once everything is open, keeping no capability")
        }
        for grant in plan.grants {
            logger.notice("least privilege: keeping \(grant.capability.name.uppercased()) because \(grant.reason)")
        }
    }
}
