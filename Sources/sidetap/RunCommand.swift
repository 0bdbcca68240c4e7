import ArgumentParser
import Foundation
import Logging
import SidetapCore
import SidetapDaemon

/// `sidetap run [CONFIG]`: run a config, or the embedded default job.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run Sidetap with CONFIG, or the embedded default job (a generated sample capture through the example rules) when none is given."
    )

    @Argument(help: "YAML config file. Without it the embedded default job runs.")
    var config: String?

    @Option(help: "Output directory of the embedded default job.")
    var output: String = "sidetap-out"

    @Option(help: "Once captures, devices, sockets and the control listeners are open, switch to this user (name or uid) and keep only the capabilities the config needs. Needs root.")
    var user: String?

    @Option(help: "The group to switch to with --user (name or gid); default: the user's primary group.")
    var group: String?

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if group != nil && user == nil {
            throw ValidationError("--group needs --user")
        }
    }

    func run() async throws {
        LogSetup.once
        let logger = outputOptions.makeLogger()
        let parsed: SidetapConfig
        do {
            if let config {
                parsed = try SidetapConfig.load(path: config)
            } else {
                parsed = try EmbeddedDefault.prepare(outputDirectory: output)
                StandardError.write("sidetap: no config given: running the embedded default job into \(output)/\n")
            }
        } catch {
            StandardError.write("sidetap: \(error)\n")
            throw ExitCode(2)
        }
        let runAs: RunAsUser?
        do {
            runAs = try user.map { name throws(RunAsUser.Failure) in try RunAsUser(name: name, group: group) }
        } catch {
            StandardError.write("sidetap: \(error)\n")
            throw ExitCode(2)
        }
        let stats: EngineStatistics
        do {
            var privilege: PrivilegeDrop? = nil
            if let runAs {
                let controlPlane = parsed.options.resolvedControlSocket != nil || parsed.control.tls != nil
                let drop = PrivilegeDrop(user: runAs, config: parsed, controlPlane: controlPlane)
                for warning in try drop.checkBeforeStart(parsed) {
                    logger.warning("least privilege: \(warning)")
                }
                drop.logPlan(logger)
                privilege = drop
            }
            let engine = try EngineAssembly.build(parsed, overrides: .init(logger: logger))
            let control = try ControlAssembly.build(parsed, engine: engine, logger: logger)
            stats = try await SidetapRunner.run(engine: engine, showStatus: outputOptions.showStatus(configured: parsed.options.status),
                                                   control: control, privilege: privilege, logger: logger)
        } catch {
            StandardError.write("sidetap: \(error)\n")
            throw ExitCode(1)
        }
        StandardError.write(Summary.render(stats) + "\n")
        if config == nil {
            StandardError.write("outputs are in \(output)/ (read them with tcpdump -r or tshark -r)\n")
        }
    }
}
