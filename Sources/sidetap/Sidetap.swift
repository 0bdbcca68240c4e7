import ArgumentParser

/// The `sidetap` command line.
@main
struct Sidetap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sidetap",
        abstract: "A virtual packet-capture security tap: capture, select, fan out to rate-controlled ports.",
        version: "0.1.0",
        subcommands: [RunCommand.self, CheckCommand.self, ReplayCommand.self, StatsCommand.self, TopCommand.self, CtlCommand.self, TokenCommand.self, AuditCommand.self, EvidenceCommand.self, BenchCommand.self, GenerateCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
