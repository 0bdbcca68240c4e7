import Prometheus
import SidetapControl
import SidetapCore

/// The Prometheus exposition of Sidetap (`GET /metrics`, `sidetap ctl metrics`), written with
/// swift-prometheus from a `MetricsSnapshot`: per-source, per-port and per-rule counters,
/// drops by reason, ring occupancy, flow tables, and cuts by method and result. The names and
/// help texts are `MetricFamily`'s.
///
/// Each scrape fills a fresh registry, so a series that no longer exists (a rule line after a
/// reload) disappears instead of lingering at its last value; scraping costs the packet path
/// nothing.
public enum MetricsExporter {
    /// The running engine's metrics as Prometheus text.
    public static func render(engine: Engine, cuts: CutCounters) -> String {
        render(MetricsSnapshot(engine: engine, cuts: cuts))
    }

    /// `snapshot` as Prometheus text.
    public static func render(_ snapshot: MetricsSnapshot) -> String {
        let out = Exposition()
        for source in snapshot.statistics.sources {
            let labels = [("source", source.name), ("guest", source.guest ?? "")]
            out.add(.sourcePackets, labels, source.packets)
            out.add(.sourceBytes, labels, source.bytes)
            out.add(.sourceKernelDrops, labels, source.kernelDropped)
            out.add(.sourceOwnOutput, labels, source.ownOutput)
            out.add(.sourceDecodeIncomplete, labels, source.decodeIncomplete)
            out.add(.sourceErrors, labels, source.errors)
            out.set(.sourceRunning, labels, source.finished ? 0 : 1)
        }
        for (p, port) in snapshot.statistics.ports.enumerated() {
            let labels = [("port", port.name), ("kind", port.kind)]
            out.add(.portSelected, labels, port.selected)
            out.add(.portSentPackets, labels, port.sent)
            out.add(.portSentBytes, labels, port.sentBytes)
            for (reason, value) in [("ring_full", port.droppedRingFull), ("rate_limit", port.droppedRateLimit),
                                    ("write_error", port.droppedWriteError), ("label", port.droppedLabel)] {
                out.add(.portDrops, labels + [("reason", reason)], value)
            }
            out.set(.portRingQueued, labels, Double(port.queued))
            if snapshot.ringCapacities.indices.contains(p) {
                out.set(.portRingCapacity, labels, Double(snapshot.ringCapacities[p]))
            }
            if let sequence = port.sequence {
                out.set(.portSequence, labels, Double(sequence))
            }
            if let readers = port.readers {
                out.set(.portReaders, labels, Double(readers.connected))
                out.add(.portReaderConnections, labels + [("result", "accepted")], readers.accepted)
                out.add(.portReaderConnections, labels + [("result", "refused")], readers.rejected)
                out.add(.portReaderSkipped, labels, readers.skippedPackets)
            }
        }
        for port in snapshot.rules.ports {
            for rule in port.rules {
                let labels = [("port", port.name), ("rules_file", port.rulesFile), ("line", "\(rule.line)"),
                              ("action", rule.accept ? "accept" : "reject")]
                out.add(.rulePackets, labels, rule.packets)
                out.add(.ruleBytes, labels, rule.bytes)
            }
            out.add(.ruleUnmatched, [("port", port.name), ("rules_file", port.rulesFile)], port.unmatched)
        }
        for table in snapshot.flowTables {
            let labels = [("source", table.source)]
            out.set(.flowTableFlows, labels, Double(table.statistics.active))
            out.set(.flowTableCapacity, labels, Double(table.statistics.capacity))
            out.add(.flowTableCreated, labels, table.statistics.created)
            out.add(.flowTableEvictions, labels + [("reason", "idle")], table.statistics.evictedIdle)
            out.add(.flowTableEvictions, labels + [("reason", "full")], table.statistics.evictedFull)
        }
        // Every method and result, zeros included, so a rate() has a series from the start.
        for method in CutMethod.allCases {
            for result in CutResult.all {
                out.add(.cuts, [("method", method.rawValue), ("result", result.name)],
                        snapshot.cuts.results[CutCounters.Key(method: method, result: result)] ?? 0)
            }
        }
        for state in [CutState.learned, .active, .done, .escalated, .expired, .cancelled, .failed] {
            out.set(.cutsRetained, [("state", state.rawValue)], Double(snapshot.cuts.retained[state] ?? 0))
        }
        out.set(.cutBlocksActive, [], Double(snapshot.cuts.activeBlocks))
        out.set(.engineElapsed, [], Double(snapshot.statistics.elapsedNanos) / 1e9)
        out.set(.buildInfo, [("version", snapshot.version)], 1)
        return out.registry.emitToString()
    }

    /// One scrape's registry.
    struct Exposition {
        let registry = PrometheusCollectorRegistry()

        func add(_ family: MetricFamily, _ labels: [(String, String)], _ value: UInt64) {
            let name = Self.descriptor(family)
            let counter = labels.isEmpty ? registry.makeCounter(descriptor: name) : registry.makeCounter(descriptor: name, labels: labels)
            counter.increment(by: Int64(clamping: value))
        }

        func set(_ family: MetricFamily, _ labels: [(String, String)], _ value: Double) {
            let name = Self.descriptor(family)
            let gauge = labels.isEmpty ? registry.makeGauge(descriptor: name) : registry.makeGauge(descriptor: name, labels: labels)
            gauge.set(value)
        }

        /// The family's full name and help (no separate unit: the names carry theirs).
        static func descriptor(_ family: MetricFamily) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help)
        }
    }
}
