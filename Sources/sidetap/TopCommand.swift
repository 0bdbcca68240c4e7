import ArgumentParser
import Foundation
import SidetapControl
import SidetapDaemon
import SidetapTop

/// `sidetap top`: a live view of a running Sidetap — sources, ports, rates, drops, recent
/// cuts — redrawn in place until `q` or Ctrl-C.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live terminal view of a running Sidetap: sources, ports, rates, drops and recent cuts.",
        discussion: """
            Keys: q or Ctrl-C quit, p pause, s sort (config order, busiest, most drops), Ctrl-L redraw.
            When standard output is not a terminal, or with --once, one frame is printed (rates
            over one interval) and the command exits.
            """)

    @OptionGroup var connection: CtlConnection

    @Option(help: "Seconds between refreshes (0.1 to 3600).")
    var interval: Double = 1

    @Flag(help: "Print one frame and exit.")
    var once = false

    func validate() throws {
        guard interval.isFinite, (0.1...3600).contains(interval) else { throw ValidationError("--interval must be between 0.1 and 3600 seconds") }
        if connection.json { throw ValidationError("--json does not apply to top (sidetap ctl stats --json prints the raw counters)") }
    }

    func run() async throws {
        let base = try connection.client()
        // An answer later than two intervals (at least 2 s) counts as a failed refresh.
        let fetcher = TopFetcher(endpoint: base.endpoint, timeoutSeconds: max(2, interval * 2))
        let session = TopSession(fetcher: fetcher, endpoint: base.endpoint.description, interval: interval)
        let live = TopTerminal.isTerminal(0) && TopTerminal.isTerminal(1)
        if once || !live {
            switch await session.renderOnce(width: Self.onceWidth(), height: nil) {
            case .success(let text): print(text, terminator: "")
            case .failure(let failure):
                StandardError.write("sidetap top: \(failure)\n")
                throw ExitCode(1)
            }
            return
        }
        let status: Int32
        do {
            status = try await session.runLive()
        } catch {
            StandardError.write("sidetap top: the terminal: \(error)\n")
            throw ExitCode(1)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// $COLUMNS when set, else no limit.
    static func onceWidth() -> Int {
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let columns = Int(text), columns > 0 { return columns }
        return .max
    }
}
