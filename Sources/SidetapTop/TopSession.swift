import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `sidetap top` loop: refreshes every `interval` seconds on one task, keys and signals
/// on the input thread, and draws after each of them; or a single frame for output that is
/// not a terminal.
public struct TopSession: Sendable {
    public var fetcher: TopFetcher
    /// Shown in the header ("unix:/run/sidetap/control.sock").
    public var endpoint: String
    public var interval: Double

    public init(fetcher: TopFetcher, endpoint: String, interval: Double) {
        self.fetcher = fetcher
        self.endpoint = endpoint
        self.interval = interval
    }

    /// What the loop waits for.
    enum Event: Sendable {
        case fetched(Result<TopSnapshot, TopFetcher.Failure>, Date)
        case input(TopInputEvent)
    }

    /// Runs the live view on the terminal (standard input and output) until `q`, Ctrl-C,
    /// SIGINT, SIGTERM or SIGHUP; the terminal is restored on every one of these paths.
    /// Returns the exit status (0).
    public func runLive() async throws(TopTerminal.Failure) -> Int32 {
        let terminal = try TopTerminal(input: 0, output: 1)
        let signals: TopSignals
        do {
            signals = try TopSignals([SIGINT, SIGTERM, SIGHUP, SIGWINCH])
        } catch {
            terminal.restore()
            throw error
        }
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        let input: TopInput
        do {
            input = try TopInput(terminal: 0, signals: signals) { continuation.yield(.input($0)) }
        } catch {
            signals.stop()
            terminal.restore()
            throw error
        }
        let fetcher = self.fetcher
        let interval = self.interval
        let refresher = Task {
            while !Task.isCancelled {
                let started = ContinuousClock.now
                let result = await fetcher.fetch()
                continuation.yield(.fetched(result, Date()))
                try? await Task.sleep(until: started + .milliseconds(Int64(interval * 1000)), clock: .continuous)
            }
        }
        var model = TopModel(endpoint: endpoint, interval: interval)
        func draw() {
            let size = terminal.size() ?? (80, 24)
            terminal.draw(TopScreen.render(model, now: Date(), width: size.width, height: size.height))
        }
        draw()
        loop: for await event in events {
            switch event {
            case .fetched(.success(let snapshot), let time): model.record(snapshot, at: time)
            case .fetched(.failure(let failure), let time): model.recordFailure(failure.description, at: time)
            case .input(.action(.quit)), .input(.stop): break loop
            case .input(.action(.togglePause)): model.paused.toggle()
            case .input(.action(.nextSort)): model.sort = model.sort.next
            case .input(.action(.redraw)), .input(.resize): terminal.write("\u{1B}[2J")
            }
            draw()
        }
        refresher.cancel()
        continuation.finish()
        input.finish()
        signals.stop()
        terminal.restore()
        return 0
    }

    /// One frame for output that is not a terminal (or `--once`): two refreshes `interval`
    /// apart, so the frame has rates; lines cut at `width`, every row shown when `height` is nil.
    public func renderOnce(width: Int, height: Int?) async -> Result<String, TopFetcher.Failure> {
        var model = TopModel(endpoint: endpoint, interval: interval)
        switch await fetcher.fetch() {
        case .failure(let failure): return .failure(failure)
        case .success(let first): model.record(first, at: Date())
        }
        try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        switch await fetcher.fetch() {
        case .failure(let failure): model.recordFailure(failure.description, at: Date())
        case .success(let second): model.record(second, at: Date())
        }
        return .success(TopScreen.render(model, now: Date(), width: width, height: height).text)
    }
}
