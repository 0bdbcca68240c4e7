import Foundation
import SidetapLabels
import Testing

@Suite struct LabelEncodingsTests {
    static let text = """
        # test encodings
        classification 0  PUBLIC P
        classification 20 SECRET S
        classification 10 INTERNAL I   # out of order on purpose
        compartment 0 FINANCE FIN
        compartment 5 HR
        """

    @Test func parsesClassificationsAndCompartments() throws {
        let e = try LabelEncodings(parsing: Self.text, file: "t.labels")
        #expect(e.classifications.map(\.value) == [0, 10, 20])
        #expect(e.classifications.map(\.name) == ["PUBLIC", "INTERNAL", "SECRET"])
        #expect(e.compartments.map(\.bit) == [0, 5])
        #expect(e.lowest == Label(classification: 0))
        #expect(e.highest == Label(classification: 20, compartments: CompartmentSet([0, 5])))
    }

    @Test func parsesLabelTextLongShortAndCase() throws {
        let e = try LabelEncodings(parsing: Self.text, file: "t.labels")
        let long = try e.parse("SECRET FINANCE HR").get()
        #expect(long == Label(classification: 20, compartments: CompartmentSet([0, 5])))
        #expect(try e.parse("s fin hr").get() == long)
        #expect(try e.parse("INTERNAL").get() == Label(classification: 10))
        #expect(e.describe(long) == "SECRET FINANCE HR")
    }

    @Test func refusesUnknownNamesInLabelText() throws {
        let e = try LabelEncodings(parsing: Self.text, file: "t.labels")
        guard case .failure(let p1) = e.parse("TOPSECRET") else { Issue.record("accepted"); return }
        #expect(p1.reason.contains("'TOPSECRET' is not a classification"))
        guard case .failure(let p2) = e.parse("SECRET LEGAL") else { Issue.record("accepted"); return }
        #expect(p2.reason.contains("'LEGAL' is not a compartment"))
        guard case .failure = e.parse("  ") else { Issue.record("accepted empty"); return }
    }

    @Test func combinationsRestrictValidLabels() throws {
        let e = try LabelEncodings(parsing: Self.text + "\ncombination PAY = SECRET FINANCE HR\ncombination PUB = PUBLIC\n", file: "t.labels")
        #expect(try e.parse("PAY").get() == Label(classification: 20, compartments: CompartmentSet([0, 5])))
        #expect(try e.parse("S FIN HR").get() == Label(classification: 20, compartments: CompartmentSet([0, 5])))
        guard case .failure(let problem) = e.parse("SECRET FINANCE") else { Issue.record("accepted a label outside the combinations"); return }
        #expect(problem.reason.contains("not one of the valid combinations"))
        #expect(problem.reason.contains("PAY, PUB"))
    }

    /// Every malformed file: the error names the file, the line and the reason.
    @Test(arguments: [
        ("classification 0 LOW\nclassification x HIGH", 2, "classification value must be a whole number"),
        ("classification 0 LOW\nclassification 0 HIGH", 2, "value 0 is already used by LOW at line 1"),
        ("classification 0 LOW\ncompartment 128 A", 2, "compartment bit must be a whole number between 0 and 127"),
        ("classification 0 LOW\ncompartment 1 A\ncompartment 1 B", 3, "bit 1 is already used by A at line 2"),
        ("classification 0 LOW\ncompartment 1 low", 2, "the name 'low' is already declared at line 1"),
        ("classification 0 LOW\n\n  level 3 X", 3, "unknown keyword 'level'"),
        ("classification 0 LOW L extra", 1, "expected 'classification VALUE LONG-NAME [SHORT-NAME]'"),
        ("classification 0 9LOW", 1, "'9LOW' is not a valid name"),
        ("classification 0 LOW\ncombination X SECRET", 2, "expected 'combination NAME = CLASSIFICATION"),
        ("classification 0 LOW\ncombination X = SECRET", 2, "combination X: 'SECRET' is not a classification"),
        ("# nothing\ncompartment 0 A", 0, "no classification is declared"),
    ])
    func reportsLineAndReason(text: String, line: Int, reason: String) {
        do {
            _ = try LabelEncodings(parsing: text, file: "bad.labels")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.file == "bad.labels")
            #expect(error.line == line)
            #expect(error.reason.contains(reason), "\(error.reason)")
            #expect(error.description.hasPrefix(line > 0 ? "bad.labels:\(line): " : "bad.labels: "))
        }
    }

    @Test func exampleFileParses() throws {
        let root = URLPath.repositoryRoot(#filePath)
        let text = try String(contentsOfFile: root + "/filters/labels.example", encoding: .utf8)
        let e = try LabelEncodings(parsing: text, file: "labels.example")
        #expect(e.classifications.count == 4)
        #expect(e.compartments.map(\.name) == ["FINANCE", "HR", "OPS"])
    }
}

enum URLPath {
    /// The repository root from a test source file's path (Tests/<Suite>/<file>).
    static func repositoryRoot(_ file: String) -> String {
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }
}
