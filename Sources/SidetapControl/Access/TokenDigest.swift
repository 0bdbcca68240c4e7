import Crypto

/// What the configuration stores for an appliance's bearer token: never the token, only
/// `hmac-sha256:<salt hex>:<mac hex>`, where mac = HMAC-SHA256(key: salt, message: the token's
/// UTF-8 bytes) and the salt is 16 random bytes. Tokens are 32 random bytes, so a fast keyed
/// hash is enough (there is nothing to brute-force); HMAC rather than SHA256(salt || token)
/// keeps salt and token from running together.
public struct TokenDigest: Sendable, Hashable, CustomStringConvertible {
    /// The scheme prefix of the stored form.
    public static let scheme = "hmac-sha256"
    /// The prefix of every token `newToken` creates.
    public static let tokenPrefix = "stp_"

    /// The HMAC key (16 bytes when made here).
    public let salt: [UInt8]
    /// HMAC-SHA256 of the token (32 bytes).
    public let mac: [UInt8]

    /// The digest of `token` with `salt` (a fresh random salt by default).
    public init(token: String, salt: [UInt8]? = nil) {
        var generator = SystemRandomNumberGenerator()
        let salt = salt ?? (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        self.salt = salt
        self.mac = TokenDigest.mac(of: token, salt: salt)
    }

    /// Reads the stored form `hmac-sha256:<salt hex>:<mac hex>`.
    public init(parsing text: String) throws(TokenDigestError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .wrongShape(parts: parts.count) }
        guard parts[0] == TokenDigest.scheme else { throw .unknownScheme(String(parts[0])) }
        guard let salt = TokenDigest.bytes(hex: parts[1]) else { throw .badHex(field: "salt") }
        guard salt.count >= 8 else { throw .saltTooShort(bytes: salt.count) }
        guard let mac = TokenDigest.bytes(hex: parts[2]) else { throw .badHex(field: "hash") }
        guard mac.count == 32 else { throw .wrongHashLength(bytes: mac.count) }
        self.salt = salt
        self.mac = mac
    }

    /// The stored form.
    public var description: String {
        "\(TokenDigest.scheme):\(hex(salt)):\(hex(mac))"
    }

    /// True when `token` is the token this digest was made from; compares in constant time.
    public func verify(_ token: String) -> Bool {
        ConstantTime.equal(TokenDigest.mac(of: token, salt: salt), mac)
    }

    /// A new token: `stp_` and 32 random bytes in unpadded base64url (43 characters). Print it
    /// once; store only `TokenDigest(token:)`.
    public static func newToken<G: RandomNumberGenerator>(using generator: inout G) -> String {
        token(fromRandomBytes: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The token text for random bytes: `stp_` and the bytes in unpadded base64url.
    public static func token(fromRandomBytes bytes: [UInt8]) -> String {
        tokenPrefix + base64URL(bytes)
    }

    /// A new token from the system's random generator.
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return newToken(using: &generator)
    }

    static func mac(of token: String, salt: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(token.utf8), using: SymmetricKey(data: salt)))
    }

    static func bytes(hex text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var result: [UInt8] = []
        result.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var text = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for byte in chunk { value = value << 8 | UInt32(byte) }
            value <<= UInt32(8 * (3 - chunk.count))
            for position in 0...chunk.count {
                text.append(alphabet[Int((value >> UInt32(18 - 6 * position)) & 0x3F)])
            }
            index += 3
        }
        return text
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0xF)])
    }
    return text
}

/// Why a stored token digest could not be read.
public enum TokenDigestError: Error, Sendable, Hashable, CustomStringConvertible {
    case wrongShape(parts: Int)
    case unknownScheme(String)
    case badHex(field: String)
    case saltTooShort(bytes: Int)
    case wrongHashLength(bytes: Int)

    public var description: String {
        let form = "expected hmac-sha256:<salt hex>:<hash hex>"
        switch self {
        case .wrongShape(let parts): return "a token digest has 3 colon-separated parts, got \(parts) (\(form))"
        case .unknownScheme(let scheme): return "unknown token digest scheme \"\(scheme)\" (\(form))"
        case .badHex(let field): return "the token digest's \(field) is not lowercase hex with an even number of digits"
        case .saltTooShort(let bytes): return "the token digest's salt is \(bytes) bytes; at least 8 are needed"
        case .wrongHashLength(let bytes): return "the token digest's hash is \(bytes) bytes; HMAC-SHA256 gives 32"
        }
    }
}
