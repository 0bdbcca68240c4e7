import SidetapPorts

/// Where a `kind: socket` port listens and how many readers it serves.
public struct SocketPortTarget: Sendable, Equatable {
    /// `tcp://HOST:PORT` or `unix:PATH` (a relative path resolved against the config's directory).
    public var listen: SocketListenAddress
    /// Readers connected at once (default 8, at most 64).
    public var maxReaders: Int

    public init(listen: SocketListenAddress, maxReaders: Int = 8) {
        self.listen = listen
        self.maxReaders = maxReaders
    }
}

extension ConfigParser {
    /// Keys only socket ports take.
    static let socketKeys = ["listen", "max_readers"]

    /// The listen settings of a socket port; nil for every other kind, which must not carry
    /// `listen` or `max_readers`.
    func parseSocketTarget(_ kind: PortKind, _ m: MappingReader, _ node: ConfigNode) throws(ConfigError) -> SocketPortTarget? {
        guard kind == .socket else {
            for key in Self.socketKeys {
                if let value = m[key] { throw value.error("'\(key)' applies to socket ports, not to a \(kind.rawValue) port") }
            }
            return nil
        }
        if let value = m["path"] {
            throw value.error("a socket port serves readers on 'listen' (tcp://HOST:PORT or unix:/PATH) and takes no 'path'")
        }
        guard let listenNode = m["listen"] else {
            throw node.error("a socket port needs 'listen': tcp://HOST:PORT (e.g. tcp://127.0.0.1:5555, tcp://[::1]:5555) or unix:/PATH")
        }
        var text = try listenNode.requireString("listen")
        if text.hasPrefix("unix:"), !text.hasPrefix("unix:/"), text.count > 5 {
            text = "unix:" + resolve(String(text.dropFirst(5)), against: base)
        }
        let listen: SocketListenAddress
        switch SocketListenAddress.parse(text) {
        case .success(let address): listen = address
        case .failure(let error): throw listenNode.error("listen: \(error)")
        }
        if case .tcp(_, let port) = listen, port == 0 {
            throw listenNode.error("listen: the port must be between 1 and 65535, got 0")
        }
        let maxReaders = try m["max_readers"].map { value throws(ConfigError) in try value.requireInt("max_readers", range: 1...64) } ?? 8
        return SocketPortTarget(listen: listen, maxReaders: maxReaders)
    }
}
