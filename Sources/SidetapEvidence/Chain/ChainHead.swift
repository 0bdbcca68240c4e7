/// A point in a hash chain: a record's sequence number and the SHA-256 (hex) of its exact
/// line bytes. The head of a log is its last record; an operator who notes the head elsewhere
/// can later detect records removed from the end, which the chain alone cannot show.
public struct ChainHead: Sendable, Hashable, CustomStringConvertible {
    /// The record's `seq` (0 for the genesis point before the first record).
    public var seq: Int64
    /// SHA-256 hex of the record's line bytes (64 zeros for the genesis point).
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// The point before the first record: seq 0, 64 zeros. Record 1's `prev` is this hash.
    public static let genesis = ChainHead(seq: 0, hash: String(repeating: "0", count: 64))

    /// `seq:hash`, the form an operator notes down and `parse` reads back.
    public var description: String { "\(seq):\(hash)" }

    /// Reads `seq:hash` (as printed by `description`); nil when malformed.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = Int64(parts[0]), seq >= 0,
              ChainHead.isHash(parts[1]) else { return nil }
        self.init(seq: seq, hash: String(parts[1]))
    }

    /// True for 64 lowercase hex digits.
    static func isHash(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
