import SidetapControl
import Testing

@Suite struct AccessTokenTests {
    @Test func digestRoundTripsAndVerifies() throws {
        let token = TokenDigest.newToken()
        #expect(token.hasPrefix("stp_"))
        #expect(token.count == 4 + 43)
        #expect(token.dropFirst(4).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        let digest = TokenDigest(token: token)
        let stored = digest.description
        #expect(stored.hasPrefix("hmac-sha256:"))
        #expect(!stored.contains(token))
        let parsed = try TokenDigest(parsing: stored)
        #expect(parsed == digest)
        #expect(parsed.verify(token))
    }

    @Test func wrongTokenIsRejected() {
        let token = TokenDigest.newToken()
        let digest = TokenDigest(token: token)
        #expect(!digest.verify(TokenDigest.newToken()))
        #expect(!digest.verify(token + "x"))
        #expect(!digest.verify(String(token.dropLast())))
        #expect(!digest.verify(""))
    }

    @Test func saltsDifferAndTheHashIsTheKnownHMAC() throws {
        #expect(TokenDigest(token: "t").description != TokenDigest(token: "t").description)
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let digest = TokenDigest(token: "what do ya want for nothing?", salt: Array("Jefe".utf8))
        #expect(digest.description == "hmac-sha256:4a656665:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(try TokenDigest(parsing: "hmac-sha256:0011223344556677:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843").salt.count == 8)
    }

    @Test func newTokensUseTheGivenGenerator() {
        struct Counting: RandomNumberGenerator {
            var state: UInt64 = 0
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                return state
            }
        }
        var a = Counting()
        var b = Counting()
        #expect(TokenDigest.newToken(using: &a) == TokenDigest.newToken(using: &b))
        #expect(TokenDigest.newToken(using: &a) != TokenDigest.newToken())
    }

    @Test func base64URLMatchesKnownEncodings() {
        // RFC 4648 §10 vectors, URL alphabet, no padding.
        let cases: [(String, String)] = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in cases {
            #expect(TokenDigest.token(fromRandomBytes: Array(plain.utf8)) == "stp_" + encoded)
        }
        #expect(TokenDigest.token(fromRandomBytes: [0xFB, 0xFF]) == "stp_-_8")
    }

    @Test(arguments: [
        ("sha256:00:11", "unknown token digest scheme \"sha256\""),
        ("hmac-sha256:0011", "3 colon-separated parts, got 2"),
        ("hmac-sha256:zz11223344556677:" + String(repeating: "0", count: 64), "salt is not lowercase hex"),
        ("hmac-sha256:001:" + String(repeating: "0", count: 64), "salt is not lowercase hex"),
        ("hmac-sha256:0011:" + String(repeating: "0", count: 64), "salt is 2 bytes"),
        ("hmac-sha256:0011223344556677:" + String(repeating: "0", count: 62), "hash is 31 bytes"),
        ("hmac-sha256:0011223344556677:" + String(repeating: "A", count: 64), "hash is not lowercase hex"),
        ("hmac-sha256:0011223344556677:", "hash is not lowercase hex"),
    ])
    func tamperedDigestsNameTheProblem(text: String, expected: String) {
        do {
            _ = try TokenDigest(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func editedDigestNoLongerVerifies() throws {
        let token = TokenDigest.newToken()
        let stored = TokenDigest(token: token).description
        let last = stored.last!
        let edited = String(stored.dropLast()) + (last == "0" ? "1" : "0")
        #expect(try !TokenDigest(parsing: edited).verify(token))
    }

    @Test func constantTimeEqualityIsEquality() {
        #expect(ConstantTime.equal([UInt8](), [UInt8]()))
        #expect(ConstantTime.equal([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equal([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equal([1, 2, 3] as [UInt8], [0, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equal([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
    }

    @Test func bearerHeaderIsParsed() {
        #expect(AccessPolicy.bearerToken("Bearer stp_abc") == "stp_abc")
        #expect(AccessPolicy.bearerToken("bearer   stp_abc  ") == "stp_abc")
        #expect(AccessPolicy.bearerToken(nil) == nil)
        #expect(AccessPolicy.bearerToken("Basic dXNlcjpwdw==") == nil)
        #expect(AccessPolicy.bearerToken("Bearer ") == nil)
        #expect(AccessPolicy.bearerToken("Bearer a b") == nil)
        #expect(AccessPolicy.bearerToken("stp_abc") == nil)
    }
}
