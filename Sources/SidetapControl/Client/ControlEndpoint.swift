import Foundation

/// Where `sidetap ctl` talks to Sidetap: the local Unix socket (administration), or an
/// appliance's HTTPS endpoint with a bearer token and optionally a client certificate.
public enum ControlEndpoint: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case https(host: String, port: Int, credentials: Credentials)

    /// What an appliance presents over HTTPS.
    public struct Credentials: Sendable, Hashable {
        /// The bearer token (`sidetap token new` printed it once).
        public var token: String?
        /// PEM CA bundle to verify the server with (nil: the system's roots).
        public var serverCAPath: String?
        /// PEM client certificate and key for mutual TLS.
        public var certificatePath: String?
        public var keyPath: String?
        /// The name the server certificate must carry (default: the host).
        public var serverName: String?

        public init(token: String? = nil, serverCAPath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil,
                    serverName: String? = nil) {
            self.token = token
            self.serverCAPath = serverCAPath
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.serverName = serverName
        }
    }

    /// Parses `https://HOST:PORT` (IPv6 hosts in brackets).
    public static func parseURL(_ text: String, credentials: Credentials) -> Result<ControlEndpoint, ParseProblem> {
        guard text.hasPrefix("https://") else { return .failure(ParseProblem("'\(text)': the appliance channel is https://HOST:PORT")) }
        var rest = Substring(text.dropFirst("https://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return .failure(ParseProblem("'\(text)': missing ']' after an IPv6 host")) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { return .failure(ParseProblem("'\(text)': a port is required (https://[ADDR]:PORT)")) }
            portText = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return .failure(ParseProblem("'\(text)': a port is required (https://HOST:PORT)")) }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else {
            return .failure(ParseProblem("'\(text)': expected https://HOST:PORT with a port between 1 and 65535"))
        }
        return .success(.https(host: String(host), port: port, credentials: credentials))
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .https(let host, let port, _): return host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)"
        }
    }
}
