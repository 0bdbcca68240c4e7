import Foundation
import ServiceLifecycle
import SidetapControl
import SidetapCore

/// Publishes source and port state changes on the control channel's event stream: a source
/// that starts failing (interface gone, capture error) or captures again, a port whose writes
/// start failing (peer gone, disk full) or succeed again. Compares the engine's counters once
/// a second; the packet path is not involved.
public struct StateEventService: Service {
    let engine: Engine
    let events: EventHub
    let interval: Duration

    public init(engine: Engine, events: EventHub, interval: Duration = .seconds(1)) {
        self.engine = engine
        self.events = events
        self.interval = interval
    }

    /// What was last reported for each source and port.
    struct Tracker {
        var sourceProblems: [String: String?] = [:]
        var portWriteErrors: [String: UInt64] = [:]
        var portFailing: [String: Bool] = [:]

        /// The events between the previous statistics and `statistics`.
        mutating func changes(_ statistics: EngineStatistics) -> [ControlEvent] {
            var found: [ControlEvent] = []
            for source in statistics.sources {
                let previous = sourceProblems[source.name]
                sourceProblems[source.name] = .some(source.problem)
                guard let previous, previous != source.problem else { continue }
                if let problem = source.problem {
                    found.append(ControlEvent(kind: "source", event: "failing", subject: source.name, detail: problem))
                } else {
                    found.append(ControlEvent(kind: "source", event: "capturing", subject: source.name, detail: "capturing again"))
                }
            }
            for port in statistics.ports {
                let previous = portWriteErrors[port.name]
                portWriteErrors[port.name] = port.droppedWriteError
                guard let previous else { continue }
                let failingNow = port.droppedWriteError > previous
                let wasFailing = portFailing[port.name] ?? false
                portFailing[port.name] = failingNow
                if failingNow && !wasFailing {
                    found.append(ControlEvent(kind: "port", event: "failing", subject: port.name,
                                              detail: "\(port.droppedWriteError - previous) write error(s): \(port.lastError ?? "unknown error")"))
                } else if !failingNow && wasFailing {
                    found.append(ControlEvent(kind: "port", event: "ok", subject: port.name, detail: "writes succeed again"))
                }
            }
            return found
        }
    }

    public func run() async throws {
        let engine = self.engine, events = self.events, interval = self.interval
        // The loop sleeps between comparisons; a graceful shutdown cancels the sleep.
        try? await cancelWhenGracefulShutdown {
            var tracker = Tracker()
            _ = tracker.changes(engine.statistics())
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                for event in tracker.changes(engine.statistics()) { events.publish(event) }
            }
        }
    }
}
