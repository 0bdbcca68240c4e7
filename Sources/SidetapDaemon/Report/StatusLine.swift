import SidetapCore
#if canImport(Glibc)
import Glibc
#endif

/// The one-line live status shown on a terminal about once a second, and the arithmetic for
/// rates between two snapshots.
public struct StatusLine {
    private var previous: EngineStatistics?

    public init() {}

    /// True when standard error is a terminal (the status line is off otherwise).
    public static var standardErrorIsTerminal: Bool { isatty(2) == 1 }

    /// Renders the line for `now`, with rates since the previous call.
    public mutating func render(_ now: EngineStatistics) -> String {
        let seconds = max(1e-9, Double(now.elapsedNanos - (previous?.elapsedNanos ?? 0)) / 1e9)
        let packets = now.totalPackets
        let rate = Double(packets - (previous?.totalPackets ?? 0)) / seconds
        var parts = ["\(Format.duration(now.elapsedNanos))", "\(Format.count(packets)) pkts", "\(Format.rate(rate))pps"]
        let drops = now.ports.reduce(0) { $0 + $1.dropped }
        let kernel = now.sources.reduce(0) { $0 + $1.kernelDropped }
        let label = now.ports.reduce(0) { $0 + $1.droppedLabel }
        parts.append("drop \(Format.count(drops))" + (kernel > 0 ? " kdrop \(Format.count(kernel))" : "")
                     + (label > 0 ? " label \(Format.count(label))" : ""))
        for (i, port) in now.ports.enumerated() {
            let before = previous.map { $0.ports.indices.contains(i) ? $0.ports[i].sent : 0 } ?? 0
            let portRate = Double(port.sent - min(before, port.sent)) / seconds
            parts.append("\(port.name) \(Format.rate(portRate))pps" + (port.dropped > 0 ? " (-\(Format.count(port.dropped)))" : ""))
        }
        previous = now
        return parts.joined(separator: "  ")
    }
}
