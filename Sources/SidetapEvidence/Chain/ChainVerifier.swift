import Foundation

/// Verifies a hash-chained JSON-lines log (the audit log, evidence manifests): every record's
/// `seq` is one more than the previous record's and its `prev` is the SHA-256 of the previous
/// line's exact bytes. It reports the first problem and classifies it (edit, removal, reordering,
/// insertion, malformed line, torn tail).
///
/// A chain cannot show records removed from its end: the shorter log is itself a valid chain.
/// Pass the head an operator noted earlier (`expectedHead`) to catch that: the record with the
/// noted `seq` must exist and have the noted hash (a log that has grown since still verifies).
public enum ChainVerifier {
    /// Verifies the file at `path`; throws only when it cannot be read.
    public static func verify(fileAt path: String, expectedHead: ChainHead? = nil, start: ChainHead = .genesis) throws -> ChainVerification {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return verify(bytes: Array(data), expectedHead: expectedHead, start: start)
    }

    /// Verifies log bytes (lines ending in `\n`). `start` is the point the first record
    /// follows: genesis for a whole log, or the last record of a previous segment.
    public static func verify(bytes: [UInt8], expectedHead: ChainHead? = nil, start: ChainHead = .genesis) -> ChainVerification {
        let split = ChainLines(bytes: bytes)
        return verify(lines: split.lines, tornTail: split.tornTail, expectedHead: expectedHead, start: start)
    }

    /// Verifies complete lines (without newlines); `tornTail` is a final fragment that had no
    /// newline, if any.
    public static func verify(
        lines: [ArraySlice<UInt8>], tornTail: ArraySlice<UInt8>? = nil,
        expectedHead: ChainHead? = nil, start: ChainHead = .genesis
    ) -> ChainVerification {
        let chain = ParsedChain(lines: lines, start: start)
        var head = start
        for index in lines.indices {
            switch chain.links[index] {
            case .failure(let error):
                let problem = ChainProblem(kind: .malformedLine, line: index + 1, seq: nil, detail: error.description)
                return ChainVerification(recordCount: index, head: head, problem: problem)
            case .success(let link):
                if link.seq == head.seq + 1 && link.prev == head.hash {
                    head = ChainHead(seq: link.seq, hash: chain.hashes[index])
                } else {
                    return ChainVerification(recordCount: index, head: head, problem: chain.classify(at: index))
                }
            }
        }
        if let tornTail {
            let problem = ChainProblem(
                kind: .tornTail, line: lines.count + 1, seq: nil,
                detail: "the last \(tornTail.count) bytes have no newline: a write was cut off")
            return ChainVerification(recordCount: lines.count, head: head, problem: problem)
        }
        if let expectedHead, let problem = chain.check(expectedHead, head: head) {
            return ChainVerification(recordCount: lines.count, head: head, problem: problem)
        }
        return ChainVerification(recordCount: lines.count, head: head, problem: nil)
    }
}

/// Every line parsed once, with its hash and an index from `seq` to lines, so a break can be
/// classified by looking at the whole log.
private struct ParsedChain {
    let lines: [ArraySlice<UInt8>]
    let links: [Result<(seq: Int64, prev: String), ChainRecordError>]
    let hashes: [String]
    let linesBySeq: [Int64: [Int]]
    let start: ChainHead

    init(lines: [ArraySlice<UInt8>], start: ChainHead) {
        self.lines = lines
        self.start = start
        links = lines.map { ChainRecord.link(of: $0) }
        hashes = lines.map { ChainRecord.hash(of: $0) }
        var bySeq: [Int64: [Int]] = [:]
        for (index, link) in links.enumerated() {
            if case .success(let value) = link { bySeq[value.seq, default: []].append(index) }
        }
        linesBySeq = bySeq
    }

    func link(_ index: Int) -> (seq: Int64, prev: String)? {
        guard lines.indices.contains(index), case .success(let value) = links[index] else { return nil }
        return value
    }

    /// The chain point a line should follow: the line before it, or the start.
    func predecessor(of index: Int) -> ChainHead? {
        if index == 0 { return start }
        guard let link = self.link(index - 1) else { return nil }
        return ChainHead(seq: link.seq, hash: hashes[index - 1])
    }

    /// True when line `index` carries the link that should follow `point`.
    func line(_ index: Int, follows point: ChainHead) -> Bool {
        guard let link = link(index) else { return false }
        return link.seq == point.seq + 1 && link.prev == point.hash
    }

    /// Classifies the first break: line `index` does not follow the line before it.
    func classify(at index: Int) -> ChainProblem {
        let line = index + 1
        let link = self.link(index)!
        let expected = predecessor(of: index)!
        let seqMatches = link.seq == expected.seq + 1
        let prevMatches = link.prev == expected.hash
        let next = index + 1

        if seqMatches {
            // The seq is right but the link is not.
            if self.line(next, follows: expected) {
                return ChainProblem(kind: .insertedRecord, line: line, seq: link.seq,
                                    detail: "the next record links to line \(line - 1), skipping this one")
            }
            if let nextLink = self.link(next), nextLink.seq == link.seq + 1, nextLink.prev != hashes[index] {
                return ChainProblem(kind: .editedRecord, line: line, seq: link.seq,
                                    detail: "neither its prev nor its own hash links to its neighbours")
            }
            if index == 0 {
                return ChainProblem(kind: .editedRecord, line: line, seq: link.seq,
                                    detail: "its prev is not the chain start \(start.hash)")
            }
            return ChainProblem(kind: .editedRecord, line: line - 1, seq: expected.seq,
                                detail: "its hash no longer matches the prev of the next record (line \(line))")
        }
        if prevMatches {
            return ChainProblem(kind: .editedRecord, line: line, seq: link.seq,
                                detail: "its seq was changed: it links to seq \(expected.seq) but says \(link.seq)")
        }
        // Neither seq nor prev fits here.
        if index >= 1, let previous = self.link(index - 1), previous.seq == link.seq,
           let beforePrevious = predecessor(of: index - 1), link.prev == beforePrevious.hash {
            return ChainProblem(kind: .insertedRecord, line: line - 1, seq: previous.seq,
                                detail: "a record was chained in before line \(line), which still links to the record before it")
        }
        if let copy = lines.indices.first(where: { $0 != index && lines[$0] == lines[index] }) {
            return ChainProblem(kind: .insertedRecord, line: line, seq: link.seq,
                                detail: "it is a copy of line \(copy + 1)")
        }
        if link.seq == start.seq + 1 && link.prev == start.hash {
            return ChainProblem(kind: .reorderedRecords, line: line, seq: link.seq,
                                detail: "the first record of the chain appears at line \(line)")
        }
        if let owner = linesBySeq[link.seq - 1]?.first(where: { $0 != index - 1 && hashes[$0] == link.prev }) {
            return ChainProblem(kind: .reorderedRecords, line: line, seq: link.seq,
                                detail: "it follows seq \(expected.seq), but its predecessor seq \(link.seq - 1) is at line \(owner + 1)")
        }
        if self.line(next, follows: expected) {
            return ChainProblem(kind: .insertedRecord, line: line, seq: link.seq,
                                detail: "the next record links to line \(line - 1), skipping this one")
        }
        if link.seq > expected.seq + 1 {
            let missing = (expected.seq + 1)..<link.seq
            if let found = missing.lazy.compactMap({ linesBySeq[$0]?.first }).first {
                return ChainProblem(kind: .reorderedRecords, line: line, seq: link.seq,
                                    detail: "seq jumps from \(expected.seq) to \(link.seq); a skipped record is at line \(found + 1)")
            }
            let range = missing.count == 1 ? "seq \(missing.lowerBound)" : "seq \(missing.lowerBound)–\(missing.upperBound - 1)"
            return ChainProblem(kind: .removedRecords, line: line, seq: missing.lowerBound,
                                detail: "\(range) (\(missing.count) records) missing before line \(line)")
        }
        return ChainProblem(kind: .reorderedRecords, line: line, seq: link.seq,
                            detail: "seq goes back from \(expected.seq) to \(link.seq)")
    }

    /// Checks an intact chain against a head noted earlier.
    func check(_ expected: ChainHead, head: ChainHead) -> ChainProblem? {
        if expected.seq == start.seq {
            return expected.hash == start.hash ? nil : ChainProblem(
                kind: .editedRecord, line: 1, seq: expected.seq,
                detail: "the expected head is the chain start with a different hash")
        }
        if let index = linesBySeq[expected.seq]?.first {
            if hashes[index] == expected.hash { return nil }
            return ChainProblem(kind: .editedRecord, line: index + 1, seq: expected.seq,
                                detail: "its hash \(hashes[index]) differs from the noted head \(expected.hash): the chain was rewritten up to here")
        }
        if expected.seq > head.seq {
            return ChainProblem(kind: .truncatedTail, line: lines.count, seq: head.seq + 1,
                                detail: "the log ends at seq \(head.seq) but the noted head is seq \(expected.seq): \(expected.seq - head.seq) records are missing from the end")
        }
        return ChainProblem(kind: .editedRecord, line: 1, seq: expected.seq,
                            detail: "the noted head seq \(expected.seq) lies before this chain's start")
    }
}
