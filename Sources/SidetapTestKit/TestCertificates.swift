import Foundation

/// A throw-away PKI for TLS tests, made with the openssl command: a CA, a server certificate
/// for 127.0.0.1 (IP SAN) and any number of client certificates, all P-256 and valid for two
/// days, as PEM files in `directory`: `ca.pem`, `server.pem`/`server.key`, `NAME.pem`/`NAME.key`.
public struct TestCertificates: Sendable {
    public let directory: String

    /// Why openssl failed.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(in directory: String, clients: [(name: String, subject: String)] = []) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func run(_ arguments: [String]) throws {
            let result = try ExternalTool.run("/usr/bin/openssl", arguments, directory: directory)
            guard result.succeeded else { throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(result.stderr)") }
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=sidetap test CA"])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        for (name, subject) in [("server", "/CN=127.0.0.1")] + clients.map({ ($0.name, $0.subject) }) {
            try run(["req"] + key + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            var sign = ["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                        "-out", "\(name).pem", "-days", "2"]
            if name == "server" { sign += ["-extfile", "san.ext"] }
            try run(sign)
        }
    }

    public var ca: String { directory + "/ca.pem" }
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }
    public func certificate(_ name: String) -> String { directory + "/\(name).pem" }
    public func key(_ name: String) -> String { directory + "/\(name).key" }

    /// The DER bytes of a PEM certificate (for its fingerprint).
    public func der(_ pem: String) throws -> Data {
        let text = try String(contentsOfFile: pem, encoding: .utf8)
        let base64 = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: base64) else { throw Failure(description: "\(pem): not a PEM certificate") }
        return der
    }
}
