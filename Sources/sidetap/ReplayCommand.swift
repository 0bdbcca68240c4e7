import ArgumentParser
import SidetapCapture
import SidetapDaemon

/// `sidetap replay FILE`: pace a capture file through the ports.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay FILE through the ports of CONFIG (or of the embedded default) at its original timing, a multiplier, a fixed rate, or top speed."
    )

    @Argument(help: "pcap or pcapng file to replay.")
    var file: String

    @Option(help: "Config whose ports (and options) to use; its sources are replaced by FILE.")
    var config: String?

    @Option(help: "Fixed packets per second.")
    var pps: Double?

    @Option(help: "Fixed rate in megabits per second (wire lengths).")
    var mbps: Double?

    @Option(help: "Speed-up of the original timing (2 = twice as fast).")
    var multiplier: Double?

    @Flag(help: "As fast as possible.")
    var topspeed = false

    @Option(help: "Output directory when the embedded default ports are used.")
    var output: String = "sidetap-out"

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        let chosen = [pps != nil, mbps != nil, multiplier != nil, topspeed].filter { $0 }.count
        guard chosen <= 1 else { throw ValidationError("choose at most one of --pps, --mbps, --multiplier, --topspeed") }
    }

    var pacing: ReplayPacing {
        if let pps { return .packetsPerSecond(pps) }
        if let mbps { return .megabitsPerSecond(mbps) }
        if let multiplier { return .multiplier(multiplier) }
        if topspeed { return .topSpeed }
        return .original
    }

    func run() async throws {
        LogSetup.once
        let logger = outputOptions.makeLogger()
        var parsed: SidetapConfig
        do {
            try pacing.validate()
            parsed = try config.map { try SidetapConfig.load(path: $0) } ?? EmbeddedDefault.prepare(outputDirectory: output)
            parsed = parsed.replacingSources(withFile: file)
        } catch {
            StandardError.write("sidetap: \(error)\n")
            throw ExitCode(2)
        }
        do {
            let engine = try EngineAssembly.build(parsed, overrides: .init(pacing: pacing, logger: logger))
            let control = try ControlAssembly.build(parsed, engine: engine, logger: logger)
            StandardError.write("sidetap: replaying \(file) at \(pacing)\n")
            let stats = try await SidetapRunner.run(engine: engine, showStatus: outputOptions.showStatus(configured: parsed.options.status),
                                                   control: control, logger: logger)
            StandardError.write(Summary.render(stats) + "\n")
        } catch {
            StandardError.write("sidetap: \(error)\n")
            throw ExitCode(1)
        }
    }
}
