/// One metric family Sidetap exports: its name, type and help text. `all` is the complete
/// list; docs/operations.md and the Grafana dashboard in docs/grafana/ use these names.
public struct MetricFamily: Sendable, Hashable {
    /// Prometheus metric type.
    public enum Kind: String, Sendable { case counter, gauge }

    public let name: String
    public let kind: Kind
    public let help: String

    init(_ name: String, _ kind: Kind, _ help: String) {
        self.name = name
        self.kind = kind
        self.help = help
    }

    // Sources: labels source, guest.
    static let sourcePackets = MetricFamily("sidetap_source_packets_total", .counter, "Packets captured by the source.")
    static let sourceBytes = MetricFamily("sidetap_source_bytes_total", .counter, "Wire bytes captured by the source.")
    static let sourceKernelDrops = MetricFamily("sidetap_source_kernel_drops_total", .counter,
                                                "Packets the kernel dropped before Sidetap read them (pcap_stats ps_drop + ps_ifdrop).")
    static let sourceOwnOutput = MetricFamily("sidetap_source_own_output_total", .counter,
                                              "Packets of Sidetap's own tunnel ports seen by the source and dropped before selection.")
    static let sourceDecodeIncomplete = MetricFamily("sidetap_source_decode_incomplete_total", .counter,
                                                     "Packets that decoded only partly (truncated or malformed); still selected.")
    static let sourceErrors = MetricFamily("sidetap_source_errors_total", .counter, "Capture errors of the source.")
    static let sourceRunning = MetricFamily("sidetap_source_running", .gauge, "1 while the source captures, 0 once it has ended.")

    // Ports: labels port, kind.
    static let portSelected = MetricFamily("sidetap_port_selected_total", .counter, "Packets the port's rules selected.")
    static let portSentPackets = MetricFamily("sidetap_port_sent_packets_total", .counter, "Packets the port wrote out.")
    static let portSentBytes = MetricFamily("sidetap_port_sent_bytes_total", .counter, "Bytes the port wrote out (after slicing).")
    static let portDrops = MetricFamily("sidetap_port_drops_total", .counter,
                                        "Selected packets the port dropped, by reason (ring_full, rate_limit, write_error).")
    static let portRingQueued = MetricFamily("sidetap_port_ring_queued", .gauge, "Packets waiting in the port's rings.")
    static let portRingCapacity = MetricFamily("sidetap_port_ring_capacity", .gauge,
                                               "Slots in the port's rings (one ring per source); occupancy is queued / capacity.")
    static let portSequence = MetricFamily("sidetap_port_sequence", .gauge,
                                           "Tunnel ports: packets numbered on the wire so far (the ERSPAN/GRE sequence).")
    static let portReaders = MetricFamily("sidetap_port_readers", .gauge, "Socket ports: readers connected now.")
    static let portReaderConnections = MetricFamily("sidetap_port_reader_connections_total", .counter,
                                                    "Socket ports: reader connections, by result (accepted, refused).")
    static let portReaderSkipped = MetricFamily("sidetap_port_reader_skipped_packets_total", .counter,
                                                "Socket ports: packets slow readers skipped.")

    // Rules: labels port, rules_file, line, action.
    static let rulePackets = MetricFamily("sidetap_rule_packets_total", .counter,
                                          "Packets the rule decided (the first rule to match), summed over the sources.")
    static let ruleBytes = MetricFamily("sidetap_rule_bytes_total", .counter,
                                        "Wire bytes of the packets the rule decided, summed over the sources.")
    static let ruleUnmatched = MetricFamily("sidetap_rule_unmatched_total", .counter,
                                            "Packets no rule of the port matched (the default reject).")

    // Flow tables: label source.
    static let flowTableFlows = MetricFamily("sidetap_flow_table_flows", .gauge, "Flows in the source's flow table.")
    static let flowTableCapacity = MetricFamily("sidetap_flow_table_capacity", .gauge, "The most flows the table holds.")
    static let flowTableCreated = MetricFamily("sidetap_flow_table_created_total", .counter, "Flows ever created in the table.")
    static let flowTableEvictions = MetricFamily("sidetap_flow_table_evictions_total", .counter, "Flows removed, by reason (idle, full).")

    // Cuts.
    static let cuts = MetricFamily("sidetap_cuts_total", .counter,
                                   "Cut requests by method and result (a cut counts once for every result it reaches).")
    static let cutsRetained = MetricFamily("sidetap_cuts_retained", .gauge, "Cut records kept for GET /v1/cuts, by state.")
    static let cutBlocksActive = MetricFamily("sidetap_cut_blocks_active", .gauge, "Blocks the kernel holds now.")

    // The process.
    static let engineElapsed = MetricFamily("sidetap_engine_elapsed_seconds", .gauge, "Seconds since the engine started.")
    static let buildInfo = MetricFamily("sidetap_build_info", .gauge, "Always 1; the version label names the running Sidetap.")

    /// Every family Sidetap exports.
    public static let all: [MetricFamily] = [
        sourcePackets, sourceBytes, sourceKernelDrops, sourceOwnOutput, sourceDecodeIncomplete, sourceErrors, sourceRunning,
        portSelected, portSentPackets, portSentBytes, portDrops, portRingQueued, portRingCapacity, portSequence,
        portReaders, portReaderConnections, portReaderSkipped,
        rulePackets, ruleBytes, ruleUnmatched,
        flowTableFlows, flowTableCapacity, flowTableCreated, flowTableEvictions,
        cuts, cutsRetained, cutBlocksActive,
        engineElapsed, buildInfo,
    ]
}
