/// The outcome of verifying a hash chain: how far it links up, its head, and the first problem.
public struct ChainVerification: Sendable, Hashable, CustomStringConvertible {
    /// Records that link correctly before the first problem (all records when intact).
    public var recordCount: Int
    /// The last correctly linked record (`ChainHead.genesis`, or the given start, when none).
    public var head: ChainHead
    /// The first problem, in line order; nil when the chain is intact.
    public var problem: ChainProblem?

    public init(recordCount: Int, head: ChainHead, problem: ChainProblem?) {
        self.recordCount = recordCount
        self.head = head
        self.problem = problem
    }

    /// True when every line links to the one before and any expected head matched.
    public var isIntact: Bool { problem == nil }

    public var description: String {
        if let problem { return "chain broken after \(recordCount) records: \(problem)" }
        return "chain intact: \(recordCount) records, head \(head)"
    }
}

/// The first thing wrong with a chain: what kind of tampering (or damage) it looks like, the
/// line (1-based) and the `seq` of the record it names, and a sentence saying why.
public struct ChainProblem: Sendable, Hashable, CustomStringConvertible {
    /// What the break in the chain looks like.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A record's bytes changed: its hash no longer matches the next record's `prev`
        /// (or its own `seq`/`prev` fields were changed).
        case editedRecord = "edited-record"
        /// One or more records are missing: `seq` jumps forward and the skipped numbers
        /// appear nowhere in the log.
        case removedRecords = "removed-records"
        /// Genuine records are out of order: a record appears away from its predecessor.
        case reorderedRecords = "reordered-records"
        /// A record that does not belong: a copy of another line, a record forged between
        /// two others, or a line that the next record skips over.
        case insertedRecord = "inserted-record"
        /// A line that is not a chain record (not JSON, not an object, no `seq`/`prev`).
        case malformedLine = "malformed-line"
        /// The last line has no newline: a write was cut off (crash, full disk).
        case tornTail = "torn-tail"
        /// Records are missing from the end: the log stops before an expected head.
        case truncatedTail = "truncated-tail"
    }

    public var kind: Kind
    /// The 1-based line the problem names.
    public var line: Int
    /// The `seq` of the record the problem names (for removals, the first missing seq;
    /// nil for lines that are not records).
    public var seq: Int64?
    /// Why, in one sentence.
    public var detail: String

    public init(kind: Kind, line: Int, seq: Int64?, detail: String) {
        self.kind = kind
        self.line = line
        self.seq = seq
        self.detail = detail
    }

    public var description: String {
        let record = seq.map { ", seq \($0)" } ?? ""
        return "\(kind.rawValue) at line \(line)\(record): \(detail)"
    }
}
