import ArgumentParser
import SidetapDaemon

/// `sidetap check CONFIG`: validate everything without capturing.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate CONFIG: files exist, rules compile, ports can be opened; print a report."
    )

    @Argument(help: "YAML config file.")
    var config: String

    @Flag(help: "Also list each port's compiled rules.")
    var verbose = false

    func run() async throws {
        let report = ConfigCheck.run(path: config, verbose: verbose)
        print(report.text)
        if !report.ok { throw ExitCode(1) }
    }
}
