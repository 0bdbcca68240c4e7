import Logging
import ServiceLifecycle
import SidetapControl
import UnixSignals

/// Reloads the config file on SIGHUP, the same way as the control API's `POST /v1/reload`,
/// and logs the outcome (applied with what changed, or refused with every error). Works with
/// the control channel off.
public struct ReloadSignalService: Service {
    let reload: @Sendable () async -> ReloadOutcome
    let logger: Logger

    public init(reload: @escaping @Sendable () async -> ReloadOutcome, logger: Logger) {
        self.reload = reload
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let reload = self.reload, logger = self.logger
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                logger.notice("SIGHUP: reloading")
                let outcome = await reload()
                if outcome.applied {
                    logger.notice("\(outcome.message)")
                    for error in outcome.errors { logger.error("\(error)") }
                } else {
                    logger.error("\(outcome.message)")
                    for error in outcome.errors { logger.error("\(error)") }
                }
            }
        }
    }
}
