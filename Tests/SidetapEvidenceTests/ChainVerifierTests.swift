import Foundation
import SidetapEvidence
import Testing

@Suite struct ChainVerifierTests {
    let directory: TemporaryDirectory
    let lines: [String]

    init() throws {
        directory = try TemporaryDirectory()
        lines = try makeLog(count: 20, at: directory.file("audit.jsonl"))
    }

    @Test func untamperedLogVerifiesWithCountAndHead() throws {
        defer { directory.cleanUp() }
        let result = try ChainVerifier.verify(fileAt: directory.file("audit.jsonl"))
        #expect(result.isIntact)
        #expect(result.recordCount == 20)
        #expect(result.head == ChainHead(seq: 20, hash: hashOf(lines[19])))
        #expect(try ChainedLog(path: directory.file("audit.jsonl")).head == result.head)
        // Against its own head, and against an older head of a log that has grown since.
        #expect(verify(lines, expectedHead: result.head).isIntact)
        #expect(verify(lines, expectedHead: ChainHead(seq: 12, hash: hashOf(lines[11]))).isIntact)
    }

    @Test func emptyLogIsIntactAtGenesis() {
        defer { directory.cleanUp() }
        let result = ChainVerifier.verify(bytes: [])
        #expect(result.isIntact && result.recordCount == 0 && result.head == .genesis)
    }

    @Test func editedRecordIsNamed() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered[9] = tampered[9].replacingOccurrences(of: "record 10", with: "record 99")
        let problem = verify(tampered).problem
        #expect(problem?.kind == .editedRecord)
        #expect(problem?.line == 10)
        #expect(problem?.seq == 10)
    }

    @Test func editedFirstRecordIsNamed() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered[0] = tampered[0].replacingOccurrences(of: "\"test\"", with: "\"tset\"")
        let problem = verify(tampered).problem
        #expect(problem?.kind == .editedRecord && problem?.line == 1 && problem?.seq == 1)
    }

    @Test func editedSeqFieldIsNamed() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered[9] = tampered[9].replacingOccurrences(of: "\"seq\":10", with: "\"seq\":11")
        #expect(tampered[9] != lines[9])
        let problem = verify(tampered).problem
        #expect(problem?.kind == .editedRecord && problem?.line == 10 && problem?.seq == 11)
    }

    @Test func editedPrevFieldIsNamed() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered[9] = tampered[9].replacingOccurrences(of: hashOf(lines[8]), with: hashOf(lines[7]))
        #expect(tampered[9] != lines[9])
        let problem = verify(tampered).problem
        #expect(problem?.kind == .editedRecord && problem?.line == 10 && problem?.seq == 10)
    }

    @Test func editedLastRecordNeedsTheNotedHead() {
        defer { directory.cleanUp() }
        let head = ChainHead(seq: 20, hash: hashOf(lines[19]))
        var tampered = lines
        tampered[19] = tampered[19].replacingOccurrences(of: "record 20", with: "record 21")
        #expect(verify(tampered).isIntact)
        let problem = verify(tampered, expectedHead: head).problem
        #expect(problem?.kind == .editedRecord && problem?.line == 20 && problem?.seq == 20)
    }

    @Test func removedRecordIsNamed() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered.remove(at: 9)
        let result = verify(tampered)
        #expect(result.problem?.kind == .removedRecords)
        #expect(result.problem?.line == 10)
        #expect(result.problem?.seq == 10)
        #expect(result.recordCount == 9)
        #expect(result.head.seq == 9)
    }

    @Test func removedRunIsNamed() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered.removeSubrange(9...11)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .removedRecords && problem?.line == 10 && problem?.seq == 10)
        #expect(problem?.detail.contains("3 records") == true)
    }

    @Test func removedFirstRecordIsNamed() {
        defer { directory.cleanUp() }
        let problem = verify(Array(lines.dropFirst())).problem
        #expect(problem?.kind == .removedRecords && problem?.line == 1 && problem?.seq == 1)
    }

    @Test func swappedNeighboursAreReordered() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered.swapAt(7, 8)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .reorderedRecords && problem?.line == 8 && problem?.seq == 9)
    }

    @Test func recordMovedEarlierIsReordered() {
        defer { directory.cleanUp() }
        var tampered = lines
        let moved = tampered.remove(at: 14)
        tampered.insert(moved, at: 4)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .reorderedRecords && problem?.line == 5 && problem?.seq == 15)
    }

    @Test func recordMovedLaterIsReordered() {
        defer { directory.cleanUp() }
        var tampered = lines
        let moved = tampered.remove(at: 4)
        tampered.insert(moved, at: 14)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .reorderedRecords && problem?.line == 5 && problem?.seq == 6)
        #expect(problem?.detail.contains("line 15") == true)
    }

    @Test func firstRecordMovedIsReordered() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered.swapAt(0, 1)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .reorderedRecords && problem?.line == 1 && problem?.seq == 2)
    }

    @Test func copiedLineIsInserted() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered.insert(lines[9], at: 12)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .insertedRecord && problem?.line == 13 && problem?.seq == 10)
        #expect(problem?.detail.contains("line 10") == true)
    }

    @Test func forgedChainedRecordIsInserted() {
        defer { directory.cleanUp() }
        var tampered = lines
        let forged = "{\"action\":\"forged\",\"prev\":\"\(hashOf(lines[11]))\",\"seq\":13}"
        tampered.insert(forged, at: 12)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .insertedRecord && problem?.line == 13 && problem?.seq == 13)
    }

    @Test func forgedUnchainedRecordIsInserted() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered.insert("{\"action\":\"forged\",\"prev\":\"\(ChainHead.genesis.hash)\",\"seq\":500}", at: 12)
        let problem = verify(tampered).problem
        #expect(problem?.kind == .insertedRecord && problem?.line == 13 && problem?.seq == 500)
    }

    @Test(arguments: ["not json", "", "[1,2]", "{\"seq\":\"7\",\"prev\":\"00\"}", "{\"seq\":7}",
                      "{\"seq\":7,\"prev\":\"xyz\"}", "{\"seq\":0,\"prev\":\"\(String(repeating: "0", count: 64))\"}"])
    func malformedLineIsNamed(replacement: String) {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered[6] = replacement
        let result = verify(tampered)
        #expect(result.problem?.kind == .malformedLine)
        #expect(result.problem?.line == 7)
        #expect(result.problem?.seq == nil)
        #expect(result.recordCount == 6)
    }

    @Test func tornTailIsNamed() {
        defer { directory.cleanUp() }
        let text = lines.joined(separator: "\n") + "\n" + "{\"action\":\"te"
        let problem = ChainVerifier.verify(bytes: Array(text.utf8)).problem
        #expect(problem?.kind == .tornTail && problem?.line == 21 && problem?.seq == nil)
        // A complete record without its newline is torn too: the writer always ends a line.
        let missingNewline = ChainVerifier.verify(bytes: Array(lines.joined(separator: "\n").utf8)).problem
        #expect(missingNewline?.kind == .tornTail && missingNewline?.line == 20)
    }

    @Test func truncatedTailIsCaughtOnlyAgainstTheNotedHead() {
        defer { directory.cleanUp() }
        let head = ChainHead(seq: 20, hash: hashOf(lines[19]))
        let shorter = Array(lines.prefix(17))
        #expect(verify(shorter).isIntact)
        let problem = verify(shorter, expectedHead: head).problem
        #expect(problem?.kind == .truncatedTail && problem?.line == 17 && problem?.seq == 18)
    }

    @Test func segmentVerifiesFromItsStart() {
        defer { directory.cleanUp() }
        let start = ChainHead(seq: 10, hash: hashOf(lines[9]))
        let bytes = Array((lines[10...].joined(separator: "\n") + "\n").utf8)
        let result = ChainVerifier.verify(bytes: bytes, start: start)
        #expect(result.isIntact && result.recordCount == 10 && result.head.seq == 20)
        #expect(ChainVerifier.verify(bytes: bytes).problem?.kind == .removedRecords)
    }

    @Test func everyKindIsDescribed() {
        defer { directory.cleanUp() }
        var tampered = lines
        tampered.remove(at: 3)
        let text = verify(tampered).description
        #expect(text.contains("removed-records at line 4, seq 4"))
    }
}
