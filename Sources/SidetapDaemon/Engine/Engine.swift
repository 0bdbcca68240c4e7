import Foundation
import Logging
import SidetapCore
import SidetapLabels
import SidetapRing
import SidetapSelect
import Synchronization

/// The running pipeline: one capture thread per source, one worker thread per port, and a
/// ring between every source and every port.
///
/// ```
/// source ─► decode ─► flow key ─► selector ─┬─► ring[s][0] ─► port worker 0 ─► port 0
///                                           └─► ring[s][1] ─► port worker 1 ─► port 1
/// ```
/// Build one with `EngineAssembly`, then `start()`, and `waitUntilFinished()` or `stop()`.
/// `apply(_:)` changes the ports and rules while it runs (EngineReload.swift): each source
/// reaches its rings through an immutable `FanOut` it swaps between two batches.
public final class Engine: @unchecked Sendable {
    let sourceWorkers: [SourceWorker]
    let timeSource: any TimeSource
    let logger: Logger
    /// What built the engine: the ports a reload adds are built the same way.
    let overrides: EngineAssembly.Overrides
    /// The resolved overflow policy (sources wait for full rings; stream ports for readers).
    let waitWhenFull: Bool
    private var sourceThreads: [WorkerThread] = []
    private let startedAt: Int64
    private let stopping = Atomic<Bool>(false)
    /// The running ports and config; short critical sections (statistics, hand-over).
    let state: Mutex<State>
    /// Serialises reloads, and lets `waitUntilFinished` wait for one in progress.
    let reloading = Mutex<Void>(())

    /// A port worker and the thread it runs on.
    final class RunningPort: @unchecked Sendable {
        let worker: PortWorker
        var thread: WorkerThread?
        init(_ worker: PortWorker) { self.worker = worker }
    }

    /// What a reload changes.
    struct State {
        /// The config the pipeline runs (its ports are exactly `ports`).
        var config: SidetapConfig
        /// Every open port, in statistics order; a port a reload removes leaves it once closed.
        var ports: [RunningPort]
        /// The rules text each port's selector was compiled from, by port name.
        var rulesTexts: [String: String]
        /// The latest fan-out epoch handed to the sources.
        var epoch: UInt64 = 0
        /// Every source has finished: ports were told their producers are done.
        var ended = false
    }

    init(config: SidetapConfig, sourceWorkers: [SourceWorker], portWorkers: [PortWorker], overrides: EngineAssembly.Overrides,
         waitWhenFull: Bool) {
        self.sourceWorkers = sourceWorkers
        self.overrides = overrides
        self.timeSource = overrides.timeSource
        self.logger = overrides.logger
        self.waitWhenFull = waitWhenFull
        self.startedAt = overrides.timeSource.monotonicNanos()
        self.state = Mutex(State(config: config, ports: portWorkers.map(RunningPort.init),
                                 rulesTexts: Engine.rulesTexts(config.ports)))
    }

    /// The open ports' workers, in statistics order.
    var portWorkers: [PortWorker] { state.withLock { $0.ports.map(\.worker) } }

    /// Opens every port on its worker thread, then starts the sources. Throws (and stops
    /// what it started) when a port cannot be opened.
    public func start() throws(EngineError) {
        let ports = state.withLock { $0.ports }
        try startPorts(ports)
        for worker in sourceWorkers {
            let thread = WorkerThread(name: "src-\(worker.description.name)") { [weak self] in
                worker.run()
                self?.sourceFinished()
            }
            do {
                try thread.start()
            } catch {
                for worker in sourceWorkers { worker.requestStop() }
                for thread in sourceThreads { thread.join() }
                sourceThreads.removeAll()
                retire(ports)
                throw EngineError(message: "\(error)")
            }
            sourceThreads.append(thread)
        }
        logger.info("engine started", metadata: [
            "sidetap.sources": "\(sourceWorkers.count)", "sidetap.ports": "\(ports.count)",
        ])
    }

    /// Starts a thread per port and waits until each has opened its port. When one cannot be
    /// started or opened, closes all of them and throws every problem.
    func startPorts(_ ports: [RunningPort]) throws(EngineError) {
        var failures: [String] = []
        for running in ports {
            let worker = running.worker
            let thread = WorkerThread(name: "port-\(worker.port.name)") { worker.run() }
            do {
                try thread.start()
                running.thread = thread
            } catch {
                failures.append("port \(worker.port.name): \(error)")
                break
            }
        }
        for running in ports where running.thread != nil {
            if let problem = running.worker.waitUntilOpened() {
                failures.append("port \(running.worker.port.name): \(problem)")
            }
        }
        if !failures.isEmpty {
            retire(ports)
            throw EngineError(message: failures.joined(separator: "\n"))
        }
    }

    /// Tells the workers no more packets come, and waits until they have drained, flushed and
    /// closed their ports.
    func retire(_ ports: [RunningPort]) {
        for running in ports { running.worker.producersFinished.store(true, ordering: .releasing) }
        for running in ports {
            running.thread?.join()
            running.thread = nil
        }
    }

    private func sourceFinished() {
        guard sourceWorkers.allSatisfy({ $0.finished.load(ordering: .acquiring) }) else { return }
        state.withLock { state in
            state.ended = true
            for running in state.ports { running.worker.producersFinished.store(true, ordering: .releasing) }
        }
    }

    /// Stops the sources; ports then drain what is queued, flush and close. Safe from any
    /// thread (a signal handler's task), idempotent.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.info("engine stopping")
        for worker in portWorkers { worker.stopRequested.store(true, ordering: .releasing) }
        for worker in sourceWorkers { worker.requestStop() }
    }

    /// True once `stop()` was called.
    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Blocks until every source has ended and every port has closed.
    public func waitUntilFinished() {
        for thread in sourceThreads { thread.join() }
        sourceThreads.removeAll()
        // A reload in progress finishes first (its sources have ended, so it does not wait long);
        // later ones see `ended` and change nothing. The ports drain outside the reload lock, so
        // a reload asked meanwhile (a shaped port can take seconds) answers at once.
        let ports = reloading.withLock { _ in
            state.withLock { state in
                state.ended = true
                return state.ports
            }
        }
        retire(ports)
        for worker in sourceWorkers {
            worker.source.close()
            if let failure = worker.failure {
                logger.error("source failed", metadata: ["sidetap.source": "\(worker.description.name)", "error": "\(failure)"])
            }
        }
    }

    /// Compiles the rules files of `config` (same sources and ports as the running engine) and
    /// switches every source to them between two batches: no packet is lost, ports keep running,
    /// flow decisions are made afresh under the new rules. Throws with the files' errors (and
    /// changes nothing) when a rules file is invalid. `apply` does this and changes ports too.
    public func reloadRules(_ config: SidetapConfig) throws(EngineError) {
        _ = try apply(config)
    }

    /// Per-rule packet and byte counts of the rules in force, summed over the sources'
    /// selectors, for metrics. While a reload hands over, only the sources already on the
    /// newest rules count; the others join at their next batch.
    public func ruleStatistics() -> RuleStatistics {
        let fanOuts = sourceWorkers.map(\.fanOutInUse)
        guard let newest = fanOuts.max(by: { $0.epoch < $1.epoch }) else { return RuleStatistics(ports: []) }
        let current = fanOuts.filter { $0.epoch == newest.epoch }
        return RuleStatistics(rules: newest.selector.rules, counters: current.map(\.selector.counters))
    }

    /// Ring slots per port (its rings from all sources together), in statistics order, for
    /// ring occupancy.
    public var ringCapacities: [Int] {
        state.withLock { $0.ports.map { $0.worker.lanes.reduce(0) { $0 + $1.ring.capacity } } }
    }

    /// Every source's flow table (sources without flow tracking have none).
    public var flowLookups: [any FlowLookup] { sourceWorkers.compactMap { $0.flows } }

    /// The flow tables by source name, for metrics.
    public var flowTablesByName: [(String, any FlowLookup)] {
        sourceWorkers.compactMap { worker in worker.flows.map { (worker.description.name, $0 as any FlowLookup) } }
    }

    /// True once every source has finished (end of input or stop).
    public var sourcesFinished: Bool { sourceWorkers.allSatisfy { $0.finished.load(ordering: .acquiring) } }

    /// A snapshot of all counters.
    public func statistics() -> EngineStatistics {
        let sources = sourceWorkers.map { worker in
            let stats = worker.source.statistics
            return EngineStatistics.Source(
                name: worker.description.name, guest: worker.description.guest,
                packets: worker.packets.value, bytes: worker.bytes.value,
                decodeIncomplete: worker.decodeIncomplete.value, ownOutput: worker.ownOutput.value,
                kernelDropped: stats.kernelDropped + stats.interfaceDropped, errors: stats.errors,
                problem: worker.failure ?? worker.source.lastProblem,
                finished: worker.finished.load(ordering: .acquiring))
        }
        let received = sources.reduce(0) { $0 + $1.packets }
        let ports = portWorkers.map { Self.statistics(of: $0, received: received) }
        return EngineStatistics(sources: sources, ports: ports, elapsedNanos: timeSource.monotonicNanos() - startedAt)
    }

    /// One port's counters.
    static func statistics(of worker: PortWorker, received: UInt64) -> EngineStatistics.Port {
        // Packets a port buffered and then failed to flush count as write errors.
        let sent = worker.sent.value
        let lost = min(worker.port.lostPackets, sent)
        return EngineStatistics.Port(
            name: worker.port.name, kind: worker.kind, received: received,
            selected: worker.selected,
            sent: sent - lost, sentBytes: worker.sentBytes.value,
            droppedRingFull: worker.droppedRingFull,
            droppedRateLimit: worker.rateLimited.value, droppedWriteError: worker.writeErrors.value + lost,
            queued: worker.queued, lastError: worker.lastError, sequence: worker.port.packetSequence,
            readers: worker.port.readerStatistics, droppedLabel: worker.droppedLabel)
    }

    /// The text of each port's rules file, by port name (unreadable files as a marker).
    static func rulesTexts(_ ports: [PortConfig]) -> [String: String] {
        var texts: [String: String] = [:]
        for port in ports { texts[port.name] = (try? String(contentsOfFile: port.rules, encoding: .utf8)) ?? "<unreadable>" }
        return texts
    }
}

/// Why the engine could not be built or started.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
