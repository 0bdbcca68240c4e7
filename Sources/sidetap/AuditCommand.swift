import ArgumentParser
import SidetapEvidence

/// `sidetap audit verify FILE`: checks the audit log's hash chain and names the first problem.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the control channel's hash-chained audit log.",
        subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify an audit log: report the first edited, removed, inserted or reordered record.",
            discussion: "Exit status 0 when intact, 1 when tampered with or unreadable. A removed tail can only be detected against a head noted earlier (--head SEQ:HASH, as printed here).")

        @Argument(help: "The audit log (JSON lines).")
        var file: String

        @Option(help: "A head noted earlier (SEQ:HASH); the log must still contain that exact record.")
        var head: String?

        func run() throws {
            var expected: ChainHead?
            if let head {
                guard let parsed = ChainHead(parsing: head) else { throw ValidationError("--head must be SEQ:HASH (64 hex digits), got '\(head)'") }
                expected = parsed
            }
            let result: ChainVerification
            do {
                result = try ChainVerifier.verify(fileAt: file, expectedHead: expected)
            } catch {
                print("\(file): cannot read: \(error)")
                throw ExitCode(1)
            }
            if let problem = result.problem {
                print("\(file): NOT intact: \(problem)")
                print("records verified before the problem: \(result.recordCount)")
                throw ExitCode(1)
            }
            print("\(file): intact, \(result.recordCount) records, head \(result.head)")
        }
    }
}
