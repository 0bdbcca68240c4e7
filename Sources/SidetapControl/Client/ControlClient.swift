#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A minimal HTTP/1.1 client for the local control socket, used by `sidetap stats`: one GET,
/// `Connection: close`, the whole response read until the server closes.
public enum ControlClient {
    /// A response: status code and body.
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    /// Why a request failed before a response arrived.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// True when something accepts connections on the socket at `path`.
    public static func isAnswering(_ path: String) -> Bool {
        guard let fd = try? connect(path, timeoutSeconds: 1) else { return false }
        close(fd)
        return true
    }

    /// `GET target` over the Unix socket at `socketPath`.
    public static func get(_ target: String, socketPath: String, timeoutSeconds: Int = 5) throws(Failure) -> Response {
        let fd = try connect(socketPath, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        let request = "GET \(target) HTTP/1.1\r\nHost: sidetap\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        var bytes = Array(request.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "\(socketPath): write: \(String(cString: strerror(errno)))") }
            offset += n
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure(description: "\(socketPath): read: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        return try parse(response)
    }

    static func connect(_ path: String, timeoutSeconds: Int) throws(Failure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Failure(description: "\(path): path too long for a Unix socket")
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
            throw Failure(description: "\(path): \(reason) (is Sidetap running with this control socket?)")
        }
        return fd
    }

    /// Splits status line, headers and body; undoes chunked transfer encoding.
    static func parse(_ data: Data) throws(Failure) -> Response {
        let separator = Data("\r\n\r\n".utf8)
        guard let end = data.range(of: separator) else { throw Failure(description: "malformed HTTP response") }
        let head = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self)
        var body = Data(data[end.upperBound...])
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "malformed HTTP status line") }
        let chunked = lines.dropFirst().contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        if chunked { body = try dechunk(body) }
        return Response(status: status, body: body)
    }

    static func dechunk(_ data: Data) throws(Failure) -> Data {
        var out = Data()
        var index = data.startIndex
        let crlf = Data("\r\n".utf8)
        while index < data.endIndex {
            guard let lineEnd = data.range(of: crlf, in: index..<data.endIndex) else { throw Failure(description: "malformed chunk") }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure(description: "malformed chunk size") }
            if size == 0 { break }
            let start = lineEnd.upperBound
            guard data.distance(from: start, to: data.endIndex) >= size else { throw Failure(description: "truncated chunk") }
            let stop = data.index(start, offsetBy: size)
            out.append(data[start..<stop])
            index = data.index(stop, offsetBy: 2, limitedBy: data.endIndex) ?? data.endIndex
        }
        return out
    }
}
