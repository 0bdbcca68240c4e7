import SidetapCore
/// The end-of-run report: per source and per port counters, in aligned columns.
public enum Summary {
    /// Renders the summary table for a final snapshot.
    public static func render(_ stats: EngineStatistics) -> String {
        var lines: [String] = []
        let seconds = Double(stats.elapsedNanos) / 1e9
        lines.append("sources:")
        var sourceRows = [["source", "guest", "packets", "bytes", "incomplete", "kernel drop", "errors"]]
        for s in stats.sources {
            sourceRows.append([s.name, s.guest ?? "-", Format.count(s.packets), Format.count(s.bytes),
                               Format.count(s.decodeIncomplete), Format.count(s.kernelDropped), Format.count(s.errors)])
        }
        lines += table(sourceRows)
        for s in stats.sources {
            if let problem = s.problem { lines.append("  \(s.name): \(problem)") }
        }
        lines.append("ports:")
        // The label column appears once a clearance has refused a packet (labels in use).
        let labelled = stats.ports.contains { $0.droppedLabel > 0 }
        var portRows = [["port", "kind", "received", "selected", "sent", "bytes", "ring full", "rate limit", "write error"]
            + (labelled ? ["label"] : [])]
        for p in stats.ports {
            portRows.append([p.name, p.kind, Format.count(p.received), Format.count(p.selected), Format.count(p.sent),
                             Format.count(p.sentBytes), Format.count(p.droppedRingFull), Format.count(p.droppedRateLimit),
                             Format.count(p.droppedWriteError)] + (labelled ? [Format.count(p.droppedLabel)] : []))
        }
        lines += table(portRows)
        for p in stats.ports {
            if let error = p.lastError { lines.append("  \(p.name): last error: \(error)") }
        }
        let pps = seconds > 0 ? Double(stats.totalPackets) / seconds : 0
        lines.append("sidetap: packets=\(stats.totalPackets) seconds=\(Format.fixed(seconds, 3)) pps=\(Format.fixed(pps, 0))")
        return lines.joined(separator: "\n")
    }

    /// Left-aligns the first two columns and right-aligns the numbers.
    static func table(_ rows: [[String]]) -> [String] {
        guard let width = rows.first?.count else { return [] }
        var widths = Array(repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            "  " + row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i < 2 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
    }
}
