import SidetapCore

/// The application a generated TCP conversation carries; it decides the server port, the
/// sizes of requests and responses, and what the payload bytes look like.
enum TCPApplication: CaseIterable {
    case http, https, upload, ssh, postgres, mysql, other

    /// Picks an application with the weights of a typical guest host.
    static func pick(_ random: inout SeededRandom) -> TCPApplication {
        let roll = random.below(100)
        switch roll {
        case ..<28: return .http
        case ..<58: return .https
        case ..<62: return .upload
        case ..<70: return .ssh
        case ..<80: return .postgres
        case ..<87: return .mysql
        default: return .other
        }
    }

    /// Server port; `other` draws from ports no common dissector claims.
    func serverPort(_ random: inout SeededRandom) -> UInt16 {
        switch self {
        case .http: 80
        case .https, .upload: 443
        case .ssh: 22
        case .postgres: 5432
        case .mysql: 3306
        case .other: [6379, 9200, 8443][random.below(3)]
        }
    }

    /// Number of request/response exchanges.
    func exchanges(_ random: inout SeededRandom) -> Int {
        switch self {
        case .http, .https: random.inRange(1...3)
        case .upload: 1
        case .ssh: random.inRange(6...30)
        case .postgres, .mysql: random.inRange(2...12)
        case .other: random.inRange(1...5)
        }
    }

    /// Size of the next message from one side.
    func messageSize(fromClient: Bool, _ random: inout SeededRandom) -> Int {
        switch (self, fromClient) {
        case (.http, true), (.https, true): return random.inRange(280...720)
        case (.http, false), (.https, false):
            let roll = random.below(100)
            if roll < 55 { return random.inRange(400...3000) }
            if roll < 90 { return random.inRange(3000...30000) }
            return random.inRange(30000...200_000)
        case (.upload, true): return random.inRange(20000...150_000)
        case (.upload, false): return random.inRange(200...600)
        case (.ssh, true): return [36, 36, 52, 68, 100][random.below(5)]
        case (.ssh, false): return random.inRange(36...420)
        case (.postgres, true), (.mysql, true): return random.inRange(80...400)
        case (.postgres, false), (.mysql, false): return random.inRange(100...9000)
        case (.other, true): return random.inRange(40...500)
        case (.other, false): return random.inRange(40...6000)
        }
    }

    static let sshClientBanner = "SSH-2.0-OpenSSH_9.6\r\n"
    static let sshServerBanner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
    static let httpRequestHead = "GET /assets/object.bin HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: sidetap-traffic/1\r\nAccept: */*\r\nX-Padding: "
    static let httpResponseHead = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "
    static let postgresQuery = "SELECT id, name, state FROM accounts WHERE id = 42"
    static let mysqlQuery = "SELECT id, total FROM orders WHERE customer_id = 7"

    /// Length of the protocol framing at the start of a message whose body has `bodyLength`
    /// bytes, when that framing is not counted in the drawn size (the HTTP response header).
    func responseOverhead(bodyLength: Int) -> Int {
        self == .http ? Self.httpResponseHead.utf8.count + FrameSink.decimalDigits(bodyLength) + 4 : 0
    }

    /// Writes `length` payload bytes at `offset` of a message of `total` bytes.
    /// Every message's framing lies within its first segment, which the caller guarantees
    /// is at least `minimumFirstSegment` long.
    func writePayload(
        into sink: inout FrameSink, fromClient: Bool, messageIndex: Int, offset: Int, length: Int, total: Int
    ) {
        switch self {
        case .http:
            if offset == 0 && fromClient {
                // Request: head, padding header value up to the drawn length, blank line.
                sink.appendText(Self.httpRequestHead)
                sink.appendFiller(length - Self.httpRequestHead.utf8.count - 4)
                sink.appendText("\r\n\r\n")
            } else if offset == 0 {
                // Recover the body length from header + body == total.
                var bodyLength = total - Self.httpResponseHead.utf8.count - 4 - FrameSink.decimalDigits(total)
                while responseOverhead(bodyLength: bodyLength + 1) + bodyLength + 1 <= total { bodyLength += 1 }
                let head = responseOverhead(bodyLength: bodyLength)
                sink.appendText(Self.httpResponseHead)
                sink.appendDecimal(bodyLength)
                sink.appendText("\r\n\r\n")
                sink.appendPoolBytes(length - head)
            } else {
                sink.appendPoolBytes(length)
            }
        case .https, .upload:
            // One TLS 1.2/1.3 application-data record per segment.
            sink.encoder.appendU8(0x17)
            sink.encoder.appendU16(0x0303)
            sink.encoder.appendU16(UInt16(length - 5))
            sink.appendPoolBytes(length - 5)
        case .ssh:
            if messageIndex == 0 {
                sink.appendText(fromClient ? Self.sshClientBanner : Self.sshServerBanner)
            } else {
                sink.appendPoolBytes(length)
            }
        case .postgres:
            if fromClient {
                // Simple Query: 'Q', int32 length, SQL text padded with spaces, NUL.
                sink.encoder.appendU8(0x51)
                sink.encoder.appendU32(UInt32(length - 1))
                sink.appendText(Self.postgresQuery)
                for _ in 0..<(length - 6 - Self.postgresQuery.utf8.count) { sink.encoder.appendU8(0x20) }
                sink.encoder.appendU8(0)
            } else if offset == 0 {
                // DataRow: 'D', int32 length, int16 column count, int32 value length, value.
                sink.encoder.appendU8(0x44)
                sink.encoder.appendU32(UInt32(total - 1))
                sink.encoder.appendU16(1)
                sink.encoder.appendU32(UInt32(total - 11))
                sink.appendPoolBytes(length - 11)
            } else {
                sink.appendPoolBytes(length)
            }
        case .mysql:
            if offset == 0 {
                // Packet: 3-byte little-endian length, sequence id; COM_QUERY from the client.
                let body = total - 4
                sink.encoder.appendU8(UInt8(truncatingIfNeeded: body))
                sink.encoder.appendU8(UInt8(truncatingIfNeeded: body >> 8))
                sink.encoder.appendU8(UInt8(truncatingIfNeeded: body >> 16))
                sink.encoder.appendU8(fromClient ? 0 : 1)
                if fromClient {
                    sink.encoder.appendU8(0x03)
                    sink.appendText(Self.mysqlQuery)
                    for _ in 0..<(length - 5 - Self.mysqlQuery.utf8.count) { sink.encoder.appendU8(0x20) }
                } else {
                    // OK packet: header 0x00, affected rows, insert id, status, warnings,
                    // then the human-readable info string filling the rest.
                    sink.encoder.appendU8(0)
                    sink.encoder.appendU8(1)
                    sink.encoder.appendU8(0)
                    sink.encoder.appendU16(0x0200)      // SERVER_STATUS_AUTOCOMMIT, little-endian
                    sink.encoder.appendU16(0)
                    sink.appendFiller(length - 11)
                }
            } else {
                sink.appendPoolBytes(length)
            }
        case .other:
            sink.appendPoolBytes(length)
        }
    }

    /// The size the first message of each side must have (SSH banners are fixed).
    func fixedSize(fromClient: Bool, messageIndex: Int) -> Int? {
        guard self == .ssh, messageIndex == 0 else { return nil }
        return (fromClient ? Self.sshClientBanner : Self.sshServerBanner).utf8.count
    }
}
