import Foundation
import SidetapEvidence
import Testing

@Suite struct ChainedLogTests {
    @Test func recordsCarrySeqPrevAndSortedKeys() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let lines = try makeLog(count: 3, at: directory.file("a.jsonl"))
        #expect(lines.count == 3)
        #expect(lines[0] == "{\"action\":\"test\",\"n\":1,\"note\":\"record 1\",\"prev\":\"\(ChainHead.genesis.hash)\",\"seq\":1}")
        #expect(lines[1].contains("\"prev\":\"\(hashOf(lines[0]))\",\"seq\":2}"))
        #expect(lines[2].contains("\"prev\":\"\(hashOf(lines[1]))\",\"seq\":3}"))
    }

    @Test func reopenedLogContinuesTheChain() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("a.jsonl")
        do {
            let log = try ChainedLog(path: path, syncEachRecord: true)
            for index in 1...3 { try log.append(["i": .int(Int64(index))]) }
        }
        let reopened = try ChainedLog(path: path)
        #expect(reopened.head.seq == 3)
        let head = try reopened.append(["i": 4, "nested": ["a": [1, 2.5, nil, true]], "path": "/x/y"])
        #expect(head.seq == 4)
        let result = try ChainVerifier.verify(fileAt: path)
        #expect(result.isIntact && result.recordCount == 4 && result.head == head)
        #expect(try readLines(path)[3].contains("\"path\":\"/x/y\""))
    }

    @Test func encodableRecordsAreAppended() throws {
        struct Event: Encodable {
            var action = "cut"
            var appliance = "siem"
            var ok = true
        }
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let log = try ChainedLog(path: directory.file("a.jsonl"))
        try log.append(encoding: Event())
        let line = try readLines(directory.file("a.jsonl"))[0]
        #expect(line.hasPrefix("{\"action\":\"cut\",\"appliance\":\"siem\",\"ok\":true,\"prev\":"))
        #expect(throws: ChainedLogError.self) { try log.append(encoding: [1, 2]) }
    }

    @Test func reservedFieldsAreRejected() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let log = try ChainedLog(path: directory.file("a.jsonl"))
        do {
            try log.append(["seq": 7])
            Issue.record("a record with seq was accepted")
        } catch {
            #expect(error.description.contains("\"seq\" is reserved"))
        }
        #expect(log.head == .genesis)
    }

    @Test func tornTailIsRefusedWithItsOffset() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("a.jsonl")
        let lines = try makeLog(count: 5, at: path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"action\":\"tes".utf8))
        try handle.close()
        let completeSize = (lines.joined(separator: "\n") + "\n").utf8.count
        do {
            _ = try ChainedLog(path: path)
            Issue.record("a torn log was opened")
        } catch {
            guard case .tornTail(_, let offset, let length) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(offset == Int64(completeSize))
            #expect(length == 14)
            #expect(error.description.contains("truncate it to \(completeSize) bytes"))
        }
        // Still torn: refusing changed nothing.
        #expect(try ChainVerifier.verify(fileAt: path).problem?.kind == .tornTail)
    }

    @Test func tornTailIsTruncatedOnRequest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("a.jsonl")
        _ = try makeLog(count: 5, at: path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"action\":\"tes".utf8))
        try handle.close()
        let log = try ChainedLog(path: path, tornTail: .truncate)
        #expect(log.droppedTail?.length == 14)
        #expect(log.droppedTail?.hash == hashOf("{\"action\":\"tes"))
        #expect(log.head.seq == 5)
        try log.append(["action": "log.torn-tail-dropped", "bytes": 14])
        let result = try ChainVerifier.verify(fileAt: path)
        #expect(result.isIntact && result.recordCount == 6)
    }

    @Test func tornOnlyLineIsHandled() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("a.jsonl")
        try Data("{\"seq\":1".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ChainedLogError.self) { try ChainedLog(path: path) }
        let log = try ChainedLog(path: path, tornTail: .truncate)
        #expect(log.head == .genesis && log.droppedTail?.offset == 0)
    }

    @Test func longLastLineIsFoundAcrossReadChunks() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("a.jsonl")
        do {
            let log = try ChainedLog(path: path)
            try log.append(["blob": .string(String(repeating: "a", count: 100_000))])
            try log.append(["blob": .string(String(repeating: "b", count: 150_000))])
        }
        let log = try ChainedLog(path: path)
        let lines = try readLines(path)
        #expect(log.head == ChainHead(seq: 2, hash: hashOf(lines[1])))
    }

    @Test func malformedLastRecordIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("a.jsonl")
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ChainedLog(path: path)
            Issue.record("a log ending in a non-record was opened")
        } catch {
            #expect(error.description.contains("byte offset 0"))
            #expect(error.description.contains("not valid JSON"))
        }
    }

    @Test func concurrentAppendersKeepOneChain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("a.jsonl")
        let log = try ChainedLog(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<50 {
                        try log.append(["writer": .int(Int64(writer)), "i": .int(Int64(index))])
                    }
                }
            }
            try await group.waitForAll()
        }
        let result = try ChainVerifier.verify(fileAt: path)
        #expect(result.isIntact)
        #expect(result.recordCount == 400)
        #expect(result.head == log.head)
    }

    @Test func headTextRoundTrips() {
        let head = ChainHead(seq: 42, hash: hashOf("x"))
        #expect(ChainHead(parsing: head.description) == head)
        #expect(ChainHead(parsing: "42") == nil)
        #expect(ChainHead(parsing: "-1:\(hashOf("x"))") == nil)
        #expect(ChainHead(parsing: "1:ABC") == nil)
    }
}

@Suite struct ChainedLogFailureTests {
    @Test func failedWriteLeavesTheHeadAlone() throws {
        // /dev/full accepts open and fails every write with ENOSPC.
        let log = try ChainedLog(path: "/dev/full")
        do {
            try log.append(["action": "test"])
            Issue.record("a write to /dev/full succeeded")
        } catch {
            #expect(error.description.contains("write /dev/full"))
        }
        #expect(log.head == .genesis)
    }

    @Test func recordLinesDecodeToTheirFields() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let lines = try makeLog(count: 2, at: directory.file("a.jsonl"))
        let fields = try ChainRecord.decode(line: Array(lines[1].utf8))
        #expect(fields["seq"] == .int(2))
        #expect(fields["note"] == "record 2")
        #expect(fields["prev"]?.stringValue == hashOf(lines[0]))
        #expect(throws: ChainRecordError.malformed("no \"prev\" field")) { try ChainRecord.decode(line: Array("{\"seq\":1}".utf8)) }
    }
}
