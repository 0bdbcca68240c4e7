#if canImport(Glibc)
import Glibc
#endif

/// The service manager's notification socket (sd_notify(3) without libsystemd): systemd
/// passes its path in `NOTIFY_SOCKET` to a `Type=notify` service, and the service sends it
/// datagrams of `KEY=VALUE` lines — `READY=1`, `STATUS=…`, `RELOADING=1`, `STOPPING=1`,
/// `WATCHDOG=1`. A path starting with `@` names an abstract socket.
public struct NotifySocket: Sendable {
    /// The socket path as given (`/run/systemd/notify` or `@name`).
    public let path: String
    /// The watchdog interval systemd expects pings within (`WATCHDOG_USEC`), when this process
    /// is the one watched.
    public let watchdogInterval: Duration?

    /// Why a notification could not be sent.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(path: String, watchdogInterval: Duration? = nil) {
        self.path = path
        self.watchdogInterval = watchdogInterval
    }

    /// The socket named by `environment` (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`), or nil
    /// when the process was not started by a service manager that listens.
    public static func from(environment: [String: String], pid: Int32 = getpid()) -> NotifySocket? {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || (path.hasPrefix("@") && path.count > 1) else {
            return nil
        }
        var watchdog: Duration?
        if let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 {
            let watched = environment["WATCHDOG_PID"].flatMap { Int32($0) }
            if watched == nil || watched == pid { watchdog = .microseconds(Int64(clamping: usec)) }
        }
        return NotifySocket(path: path, watchdogInterval: watchdog)
    }

    /// The socket named by this process's environment.
    public static func fromProcessEnvironment() -> NotifySocket? {
        var environment: [String: String] = [:]
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
        }
        return from(environment: environment)
    }

    /// Sends one datagram of `fields` (`KEY=VALUE` lines; a value must not contain a newline).
    public func send(_ fields: [(String, String)]) throws(Failure) {
        let text = fields.map { "\($0.0)=\($0.1.replacing("\n", with: " "))" }.joined(separator: "\n")
        try send(text)
    }

    /// Sends one raw datagram.
    public func send(_ text: String) throws(Failure) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(path.utf8)
        let abstract = name.first == UInt8(ascii: "@")
        if abstract { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count < capacity else { throw Failure(description: "NOTIFY_SOCKET \(path): path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: name)
            raw[name.count] = 0
        }
        // An abstract name's length is exact (no terminating zero counted); a path's includes it.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count + (abstract ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "NOTIFY_SOCKET: socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var sent: Int
        repeat {
            sent = bytes.withUnsafeBytes { buffer in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, length)
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent == bytes.count else {
            throw Failure(description: "NOTIFY_SOCKET \(path): sendto: \(sent < 0 ? String(cString: strerror(errno)) : "short write")")
        }
    }
}
