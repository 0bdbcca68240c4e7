import Logging
import SidetapCore
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
public final class Engine: @unchecked Sendable {
    let sourceWorkers: [SourceWorker]
    let portWorkers: [PortWorker]
    let rules: CompiledRuleSet
    let timeSource: any TimeSource
    let logger: Logger
    private var threads: [WorkerThread] = []
    private let startedAt: Int64
    private let stopping = Atomic<Bool>(false)
    /// The rules in force and every source's selector counters (a rules reload replaces both).
    private let ruleCounters: Mutex<(rules: CompiledRuleSet, counters: [SelectorCounters])>

    init(sourceWorkers: [SourceWorker], portWorkers: [PortWorker], rules: CompiledRuleSet, timeSource: any TimeSource, logger: Logger) {
        self.sourceWorkers = sourceWorkers
        self.portWorkers = portWorkers
        self.rules = rules
        self.timeSource = timeSource
        self.logger = logger
        self.startedAt = timeSource.monotonicNanos()
        self.ruleCounters = Mutex((rules, sourceWorkers.map(\.selector.counters)))
    }

    /// Opens every port on its worker thread, then starts the sources. Throws (and stops
    /// what it started) when a port cannot be opened.
    public func start() throws(EngineError) {
        for worker in portWorkers {
            let thread = WorkerThread(name: "port-\(worker.port.name)") { worker.run() }
            do { try thread.start() } catch { abortStart(); throw EngineError(message: "\(error)") }
            threads.append(thread)
        }
        var failures: [String] = []
        for worker in portWorkers {
            if let problem = worker.waitUntilOpened() {
                failures.append("port \(worker.port.name): \(problem)")
            }
        }
        if !failures.isEmpty {
            abortStart()
            throw EngineError(message: failures.joined(separator: "\n"))
        }
        for worker in sourceWorkers {
            let thread = WorkerThread(name: "src-\(worker.description.name)") { [weak self] in
                worker.run()
                self?.sourceFinished()
            }
            do { try thread.start() } catch { abortStart(); throw EngineError(message: "\(error)") }
            threads.append(thread)
        }
        logger.info("engine started", metadata: [
            "sidetap.sources": "\(sourceWorkers.count)", "sidetap.ports": "\(portWorkers.count)",
        ])
    }

    private func abortStart() {
        for worker in portWorkers { worker.producersFinished.store(true, ordering: .releasing) }
        for thread in threads { thread.join() }
        threads.removeAll()
    }

    private func sourceFinished() {
        if sourceWorkers.allSatisfy({ $0.finished.load(ordering: .acquiring) }) {
            for worker in portWorkers { worker.producersFinished.store(true, ordering: .releasing) }
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

    /// Blocks until every source has ended and every port has closed.
    public func waitUntilFinished() {
        for thread in threads { thread.join() }
        threads.removeAll()
        for worker in sourceWorkers {
            worker.source.close()
            if let failure = worker.failure {
                logger.error("source failed", metadata: ["sidetap.source": "\(worker.description.name)", "error": "\(failure)"])
            }
        }
    }

    /// True once every source has finished (end of input or stop).
    /// Compiles the rules files of `config` (same sources and ports as the running engine) and
    /// switches every source to them between two batches: no packet is lost, ports keep running,
    /// flow decisions are made afresh under the new rules. Throws with the files' errors (and
    /// changes nothing) when a rules file is invalid.
    public func reloadRules(_ config: SidetapConfig) throws(EngineError) {
        let descriptions = sourceWorkers.map(\.description)
        let compiled = try EngineAssembly.compileRules(config, sources: descriptions)
        let selectors = sourceWorkers.map { _ in Selector(compiled, flowCacheSize: config.options.flowCache) }
        ruleCounters.withLock { $0 = (compiled, selectors.map(\.counters)) }
        for (worker, selector) in zip(sourceWorkers, selectors) { worker.replaceSelector(selector) }
    }

    /// Per-rule packet counts of the rules in force, summed over the sources, for metrics.
    public func ruleStatistics() -> RuleStatistics {
        let (rules, counters) = ruleCounters.withLock { $0 }
        return RuleStatistics(rules: rules, counters: counters)
    }

    /// Ring slots per port (its rings from all sources together), for ring occupancy.
    public var ringCapacities: [Int] { portWorkers.map { $0.rings.reduce(0) { $0 + $1.capacity } } }

    /// Every source's flow table (sources without flow tracking have none).
    public var flowLookups: [any FlowLookup] { sourceWorkers.compactMap { $0.flows } }

    /// The flow tables by source name, for metrics.
    public var flowTablesByName: [(String, any FlowLookup)] {
        sourceWorkers.compactMap { worker in worker.flows.map { (worker.description.name, $0 as any FlowLookup) } }
    }

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
        let ports = portWorkers.map { worker in
            let p = worker.index
            // Packets a port buffered and then failed to flush count as write errors.
            let sent = worker.sent.value
            let lost = min(worker.port.lostPackets, sent)
            return EngineStatistics.Port(
                name: worker.port.name, kind: worker.kind, received: received,
                selected: sourceWorkers.reduce(0) { $0 + $1.selected[p].value },
                sent: sent - lost, sentBytes: worker.sentBytes.value,
                droppedRingFull: sourceWorkers.reduce(0) { $0 + $1.ringFull[p].value },
                droppedRateLimit: worker.rateLimited.value, droppedWriteError: worker.writeErrors.value + lost,
                queued: worker.queued, lastError: worker.lastError, sequence: worker.port.packetSequence,
                readers: worker.port.readerStatistics)
        }
        return EngineStatistics(sources: sources, ports: ports, elapsedNanos: timeSource.monotonicNanos() - startedAt)
    }
}

/// Why the engine could not be built or started.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
