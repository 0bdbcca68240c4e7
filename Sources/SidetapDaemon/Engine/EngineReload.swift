import Foundation
import Logging
import SidetapCore
import SidetapPorts
import SidetapRing
import SidetapSelect
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a live reload changed, port by port.
public struct EngineReloadReport: Sendable, Equatable, CustomStringConvertible {
    /// Ports whose settings are unchanged: they kept running (their rules may have changed).
    public var kept: [String] = []
    /// New ports, opened and receiving.
    public var added: [String] = []
    /// Ports no longer in the file: drained, flushed and closed.
    public var removed: [String] = []
    /// Ports whose settings (other than rules, sample, slice, group) changed: closed, then
    /// opened again with the new settings.
    public var replaced: [String] = []
    /// Kept ports whose rules file, sample, slice or group changed: their selector was swapped.
    public var rulesReloaded: [String] = []
    /// Replaced ports whose new settings could not be opened (the old port is closed).
    public var failed: [String] = []

    /// True when the reload changed nothing at all.
    public var isEmpty: Bool {
        added.isEmpty && removed.isEmpty && replaced.isEmpty && rulesReloaded.isEmpty && failed.isEmpty
    }

    /// "ports: kept a, b; added c; removed d; rules reloaded for a".
    public var description: String {
        var parts: [String] = []
        func list(_ label: String, _ names: [String]) {
            if !names.isEmpty { parts.append("\(label) \(names.joined(separator: ", "))") }
        }
        list("added", added)
        list("removed", removed)
        list("replaced", replaced)
        list("kept", kept)
        list("rules reloaded for", rulesReloaded)
        list("could not reopen", failed.map { $0.split(separator: ":").first.map(String.init) ?? $0 })
        return "ports: " + (parts.isEmpty ? "none" : parts.joined(separator: "; "))
    }
}

extension Engine {
    /// What a port's writer is built from: every setting except the selection ones (rules,
    /// sample, slice, group), which a selector swap changes without touching the port.
    static func portSettings(_ port: PortConfig) -> String {
        "\(port.kind.rawValue)|\(port.path ?? "")|\(port.format)|\(port.nanosecond)|\(String(describing: port.rotate))|"
            + "\(String(describing: port.rate))|\(port.comment ?? "")|\(String(describing: port.network))|\(String(describing: port.socket))"
    }

    /// What selects for a port: its rules text and the selection settings.
    static func selection(_ port: PortConfig, text: String?) -> String {
        "\(port.rules)|\(port.sample ?? 0)|\(port.slice ?? 0)|\(port.group ?? "")|\(text ?? "")"
    }

    /// A source's identity for comparison: everything but its place in the file.
    static func sourceSettings(_ source: SourceConfig) -> String {
        "\(source.name)|\(source.file)|\(source.guest ?? "")|\(source.reader)|\(String(describing: source.interface))"
            + "|\(String(describing: source.libvirt))"
    }

    /// The differences between the running config and `next` that only a restart applies:
    /// sources (added, removed, changed, reordered), `options` and `flows`. Empty when none.
    func restartOnlyChanges(from running: SidetapConfig, to next: SidetapConfig) -> [String] {
        var problems: [String] = []
        let old = running.sources.map(Self.sourceSettings), new = next.sources.map(Self.sourceSettings)
        if old != new {
            let oldNames = running.sources.map(\.name), newNames = next.sources.map(\.name)
            for source in next.sources where !oldNames.contains(source.name) {
                problems.append("\(source.location): source '\(source.name)' is new: sources are added at the next start only")
            }
            for name in oldNames where !newNames.contains(name) {
                problems.append("\(next.file): source '\(name)' was removed: sources are removed at the next start only")
            }
            for source in next.sources {
                guard let before = running.sources.first(where: { $0.name == source.name }),
                      Self.sourceSettings(before) != Self.sourceSettings(source) else { continue }
                problems.append("\(source.location): source '\(source.name)' changed: sources change at the next start only")
            }
            if problems.isEmpty {
                problems.append("\(next.file): the sources were reordered: source order changes at the next start only")
            }
        }
        if running.options != next.options {
            problems.append("\(next.file): 'options' changed: options apply at the next start only")
        }
        if running.flows != next.flows {
            problems.append("\(next.file): 'flows' changed: flow tracking settings apply at the next start only")
        }
        return problems
    }

    /// Applies `config`'s ports and rules to the running pipeline without stopping it:
    ///
    /// - a port whose settings are unchanged keeps its worker, rings and counters and loses
    ///   no packet (new rules reach it through a selector swap between two batches);
    /// - an added port is opened first (if it cannot be, nothing changes and this throws),
    ///   then every source gets a lane to it;
    /// - a removed port, once every source has switched to a fan-out without it, drains its
    ///   rings, flushes and closes (a file port renames its file);
    /// - a port with other settings is removed that way, then opened with the new settings.
    ///
    /// Throws, changing nothing, when the rules are invalid, a new port cannot be opened, or
    /// the file changes what only a restart applies (sources, options, flows). Returns after
    /// removed ports have closed.
    public func apply(_ config: SidetapConfig) throws(EngineError) -> EngineReloadReport {
        try reloading.withLock { (_: inout Void) throws(EngineError) -> EngineReloadReport in
            try applyLocked(config)
        }
    }

    private func applyLocked(_ file: SidetapConfig) throws(EngineError) -> EngineReloadReport {
        let running = state.withLock { $0.config }
        var config = file
        // `sidetap replay` reads the file its command line names, not the config's sources:
        // a reload keeps them.
        if !running.sources.isEmpty && running.sources.allSatisfy({ $0.location.file == "<command line>" }) {
            config.sources = running.sources
        }
        let restartOnly = restartOnlyChanges(from: running, to: config)
        guard restartOnly.isEmpty else { throw EngineError(message: restartOnly.joined(separator: "\n")) }
        guard config.ports.count <= 64 else { throw EngineError(message: "\(config.file): at most 64 ports (\(config.ports.count))") }
        let descriptions = sourceWorkers.map(\.description)
        // Validates every rules file before anything changes.
        _ = try EngineAssembly.compileRules(config, sources: descriptions)
        let texts = Self.rulesTexts(config.ports)
        // Once the engine stops or its sources have ended, an unchanged file is still fine (the
        // reload of appliances goes on) but nothing in the pipeline changes any more.
        let stopped = state.withLock({ $0.ended }) || isStopping
        let oldTexts = state.withLock { $0.rulesTexts }

        var report = EngineReloadReport()
        let current = state.withLock { $0.ports }
        var byName: [String: RunningPort] = [:]
        for port in current { byName[port.worker.config.name] = port }
        var added: [PortConfig] = [], replaced: [PortConfig] = []
        var runningPorts: [String: PortConfig] = [:]
        for port in running.ports { runningPorts[port.name] = port }
        for port in config.ports {
            guard let old = byName[port.name] else { added.append(port); continue }
            if Self.portSettings(old.worker.config) != Self.portSettings(port) {
                replaced.append(port)
            } else {
                report.kept.append(port.name)
                let before = runningPorts[port.name] ?? old.worker.config
                if Self.selection(before, text: oldTexts[port.name]) != Self.selection(port, text: texts[port.name]) {
                    report.rulesReloaded.append(port.name)
                }
            }
        }
        let newNames = Set(config.ports.map(\.name))
        let removed = current.filter { !newNames.contains($0.worker.config.name) }
        let replacedNames = Set(replaced.map(\.name))
        let superseded = current.filter { replacedNames.contains($0.worker.config.name) }
        report.added = added.map(\.name)
        report.removed = removed.map { $0.worker.config.name }
        report.replaced = replaced.map(\.name)

        if report.isEmpty && added.isEmpty && removed.isEmpty && replaced.isEmpty {
            state.withLock { $0.config.control = config.control }
            return report
        }
        if stopped {
            throw EngineError(message: "the engine is stopping or has ended: nothing to reload")
        }

        // 1. Open the added ports; if one cannot be opened nothing changes.
        let opened = try openPorts(added, config: config)

        // 2. Hand every source a fan-out with the kept and added ports (replaced ones are out).
        var workers: [String: RunningPort] = byName
        for port in opened { workers[port.worker.config.name] = port }
        let first = config.ports.filter { !replacedNames.contains($0.name) }
        do {
            try handOver(first.map { workers[$0.name]! }, config: config, ports: first, adding: opened)
        } catch {
            // The rules compiled above; this cannot fail in practice.
            close(opened, reason: "reload failed")
            throw error
        }

        // 3. The removed and replaced ports get no more packets: drain, flush, close.
        close(removed + superseded, reason: "removed by reload")
        for port in removed + superseded { workers[port.worker.config.name] = nil }

        // 4. Open the replaced ports with their new settings, and hand over again.
        var final = first
        if !replaced.isEmpty {
            var reopened: [RunningPort] = []
            for port in replaced {
                do {
                    reopened += try openPorts([port], config: config)
                } catch {
                    report.failed.append("\(port.name): \(error)")
                    logger.error("port could not be reopened with its new settings", metadata: ["sidetap.port": "\(port.name)", "error": "\(error)"])
                }
            }
            for port in reopened { workers[port.worker.config.name] = port }
            final = config.ports.filter { workers[$0.name] != nil }
            do {
                try handOver(final.map { workers[$0.name]! }, config: config, ports: final, adding: reopened)
            } catch {
                close(reopened, reason: "reload failed")
                throw error
            }
        }
        var applied = config
        applied.ports = final
        let finalWorkers = final.map { workers[$0.name]! }
        state.withLock { state in
            state.config = applied
            state.ports = finalWorkers
            state.rulesTexts = texts.filter { name, _ in final.contains { $0.name == name } }
        }
        logger.notice("reloaded \(config.file): \(report)")
        return report
    }

    /// Builds and opens `ports` with a lane from every source; throws every problem (and
    /// closes what it opened) when one cannot be built or opened.
    private func openPorts(_ ports: [PortConfig], config: SidetapConfig) throws(EngineError) -> [RunningPort] {
        guard !ports.isEmpty else { return [] }
        let descriptions = sourceWorkers.map(\.description)
        let options = config.options
        var writers: [any SidetapCore.Port] = []
        for port in ports {
            writers.append(try EngineAssembly.makePort(port, config: config, overrides: overrides, waitForReaders: waitWhenFull))
        }
        try EngineAssembly.checkOwnOutput(ports: writers, sources: descriptions)
        let now = timeSource.monotonicNanos()
        let running = zip(ports, writers).map { port, writer in
            let lanes = sourceWorkers.map { source in
                Lane(ring: PacketRing(slots: options.ringSlots, arenaBytes: source.source.bytesOutliveDelivery ? 0 : options.ringBytes))
            }
            return RunningPort(PortWorker(port: writer, config: port, lanes: lanes, sources: descriptions,
                                          bucket: EngineAssembly.makeBucket(port.rate, nowNanos: now),
                                          shapes: port.rate?.mode == .shape, timeSource: timeSource))
        }
        try startPorts(running)
        return running
    }

    /// Compiles the rules for `ports` (in this order: port `p` is bit `p`), hands every source
    /// a fan-out over `workers`' lanes, and waits until each source has switched to it (or
    /// ended). `adding` are workers not yet in the statistics: they join them here.
    private func handOver(_ workers: [RunningPort], config: SidetapConfig, ports: [PortConfig], adding: [RunningPort]) throws(EngineError) {
        var subset = config
        subset.ports = ports
        let rules = try EngineAssembly.compileRules(subset, sources: sourceWorkers.map(\.description))
        let own = EngineAssembly.ownTraffic(workers.map(\.worker.port))
        let epoch = state.withLock { state in
            state.epoch += 1
            for port in adding {
                state.ports.append(port)
                // Sources that already ended will never feed it: let it close when asked.
                if state.ended { port.worker.producersFinished.store(true, ordering: .releasing) }
            }
            return state.epoch
        }
        if isStopping {
            for port in adding { port.worker.stopRequested.store(true, ordering: .releasing) }
        }
        for (s, source) in sourceWorkers.enumerated() {
            let lanes = workers.map { $0.worker.lanes[s] }
            source.replaceFanOut(FanOut(epoch: epoch, selector: Selector(rules, flowCacheSize: config.options.flowCache),
                                        lanes: lanes, ownTraffic: own,
                                        labelGate: FanOut.gate(config.labelAssignment, sourceIndex: s, lanes: lanes)))
        }
        waitForAcknowledgement(epoch)
    }

    /// Waits until every source uses fan-out `epoch` or has ended. A source switches at its
    /// next batch: a file source at once, a live one within its poll timeout.
    private func waitForAcknowledgement(_ epoch: UInt64) {
        var waited = 0
        while !sourceWorkers.allSatisfy({ $0.hasAcknowledged(epoch) }) {
            usleep(1000)
            waited += 1
            if waited % 10_000 == 0 {
                let late = sourceWorkers.filter { !$0.hasAcknowledged(epoch) }.map(\.description.name)
                logger.warning("reload waits for source(s) \(late.joined(separator: ", ")) to reach their next batch")
            }
        }
    }

    /// Closes ports no source feeds any more; logs each one's last counters. They stay in the
    /// statistics until closed.
    private func close(_ ports: [RunningPort], reason: String) {
        guard !ports.isEmpty else { return }
        retire(ports)
        let received = sourceWorkers.reduce(0) { $0 + $1.packets.value }
        for port in ports {
            let stats = Self.statistics(of: port.worker, received: received)
            logger.notice("port closed (\(reason))", metadata: [
                "sidetap.port": "\(stats.name)", "sidetap.selected": "\(stats.selected)", "sidetap.sent": "\(stats.sent)",
                "sidetap.ring_full": "\(stats.droppedRingFull)", "sidetap.rate_limit": "\(stats.droppedRateLimit)",
                "sidetap.write_error": "\(stats.droppedWriteError)",
            ])
        }
        let closing = Set(ports.map { ObjectIdentifier($0) })
        state.withLock { state in state.ports.removeAll { closing.contains(ObjectIdentifier($0)) } }
    }
}
