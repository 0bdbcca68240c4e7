import Prometheus
import SidetapControl
import SidetapCore
import Synchronization

/// The Prometheus exposition of Sidetap (`GET /metrics`), built with swift-prometheus from
/// snapshots taken at scrape time: per-source and per-port packets, bytes and drops by reason,
/// ring occupancy, flow-table size and evictions, cuts by state and cut events by method.
///
/// The counters live in the engine (single-writer atomics); at each scrape their current
/// values are copied into the registry, so scraping costs the packet path nothing.
public final class MetricsExporter: Sendable {
    /// One source's flow table, named.
    public struct FlowTable: Sendable {
        public var source: String
        public var statistics: FlowTableStatistics
        public init(source: String, statistics: FlowTableStatistics) {
            self.source = source
            self.statistics = statistics
        }
    }

    private let registry = PrometheusCollectorRegistry()
    private let scrape = Mutex<Void>(())

    public init() {}

    /// Everything as Prometheus text.
    public func render(statistics: EngineStatistics, flowTables: [FlowTable], cutStates: [CutState: Int], cutEvents: [CutEventKey: Int]) -> String {
        scrape.withLock { _ in
            for source in statistics.sources {
                let labels = [("source", source.name), ("guest", source.guest ?? "")]
                counter("sidetap_source_packets_total", "Packets captured by the source.", labels, source.packets)
                counter("sidetap_source_bytes_total", "Wire bytes captured by the source.", labels, source.bytes)
                counter("sidetap_source_kernel_drops_total", "Packets the kernel dropped before Sidetap read them (pcap_stats).", labels, source.kernelDropped)
                counter("sidetap_source_decode_incomplete_total", "Packets that decoded only partly (truncated or malformed).", labels, source.decodeIncomplete)
                counter("sidetap_source_errors_total", "Capture errors of the source.", labels, source.errors)
            }
            for port in statistics.ports {
                let labels = [("port", port.name), ("kind", port.kind)]
                counter("sidetap_port_selected_total", "Packets the port's rules selected.", labels, port.selected)
                counter("sidetap_port_sent_packets_total", "Packets the port wrote out.", labels, port.sent)
                counter("sidetap_port_sent_bytes_total", "Bytes the port wrote out.", labels, port.sentBytes)
                for (reason, value) in [("ring_full", port.droppedRingFull), ("rate_limit", port.droppedRateLimit), ("write_error", port.droppedWriteError),
                                       ("label", port.droppedLabel)] {
                    counter("sidetap_port_drops_total", "Packets the port dropped, by reason.", labels + [("reason", reason)], value)
                }
                gauge("sidetap_port_ring_queued", "Packets waiting in the port's ring.", labels, Double(port.queued))
            }
            for table in flowTables {
                let labels = [("source", table.source)]
                gauge("sidetap_flow_table_flows", "Flows in the source's flow table.", labels, Double(table.statistics.active))
                gauge("sidetap_flow_table_capacity", "The most flows the table holds.", labels, Double(table.statistics.capacity))
                counter("sidetap_flow_table_created_total", "Flows ever created in the table.", labels, table.statistics.created)
                counter("sidetap_flow_table_evictions_total", "Flows removed, by reason.", labels + [("reason", "idle")], table.statistics.evictedIdle)
                counter("sidetap_flow_table_evictions_total", "Flows removed, by reason.", labels + [("reason", "full")], table.statistics.evictedFull)
            }
            for state in [CutState.learned, .active, .done, .escalated, .expired, .cancelled, .failed] {
                gauge("sidetap_cuts", "Retained cuts by state.", [("state", state.rawValue)], Double(cutStates[state] ?? 0))
            }
            for (key, value) in cutEvents {
                counter("sidetap_cut_events_total", "Cuts reaching a state, by method and state.",
                        [("method", key.method.rawValue), ("state", key.event)], UInt64(value))
            }
            gauge("sidetap_engine_elapsed_seconds", "Seconds since the engine started.", [], Double(statistics.elapsedNanos) / 1e9)
            return registry.emitToString()
        }
    }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: UInt64) {
        let metric = registry.makeCounter(name: name, labels: labels, help: help)
        metric.reset()
        metric.increment(by: Int64(clamping: value))
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
        registry.makeGauge(name: name, labels: labels, help: help).set(value)
    }
}
