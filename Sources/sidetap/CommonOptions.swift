import ArgumentParser
import Logging
import SidetapDaemon

/// Options every running command shares.
struct OutputOptions: ParsableArguments {
    @Option(help: "Terminal status line: auto (on when stderr is a terminal), on, off.")
    var status: StatusChoice = .auto

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: LogLevelChoice = .notice

    func makeLogger() -> Logger {
        var logger = Logger(label: "sidetap")
        logger.logLevel = logLevel.level
        return logger
    }

    func showStatus(configured: EngineOptions.Status) -> Bool {
        let choice: EngineOptions.Status = status == .auto ? configured : (status == .on ? .on : .off)
        switch choice {
        case .on: return true
        case .off: return false
        case .auto: return StatusLine.standardErrorIsTerminal
        }
    }
}

enum StatusChoice: String, ExpressibleByArgument, CaseIterable { case auto, on, off }

enum LogLevelChoice: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .notice }
}

/// Bootstraps swift-log once: stderr, with the level chosen per logger; journal lines with
/// syslog priorities when stderr is the systemd journal (`LogBootstrap`).
enum LogSetup {
    static let once: Void = {
        LoggingSystem.bootstrap(LogBootstrap.factory(LogBootstrap.detected))
    }()
}
