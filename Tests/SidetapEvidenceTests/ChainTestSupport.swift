import Foundation
import SidetapEvidence

/// A fresh directory under the system temporary directory, removed by `cleanUp`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("sidetap-evidence-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes a log of `count` records through `ChainedLog` and returns its lines (no newlines).
func makeLog(count: Int, at path: String) throws -> [String] {
    let log = try ChainedLog(path: path)
    for index in 1...count {
        try log.append(["action": "test", "note": .string("record \(index)"), "n": .int(Int64(index))])
    }
    return try readLines(path)
}

func readLines(_ path: String) throws -> [String] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    return lines
}

/// Verifies lines joined with newlines (and a final newline).
func verify(_ lines: [String], expectedHead: ChainHead? = nil) -> ChainVerification {
    ChainVerifier.verify(bytes: Array((lines.joined(separator: "\n") + "\n").utf8), expectedHead: expectedHead)
}

func hashOf(_ line: String) -> String { ChainRecord.hash(of: Array(line.utf8)) }
