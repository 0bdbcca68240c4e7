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

/// Number formatting for reports: thousands separators, SI rates, durations.
public enum Format {
    /// 1234567 → "1,234,567".
    public static func count(_ value: UInt64) -> String {
        let digits = String(value)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// 452100 → "452.1k".
    public static func rate(_ value: Double) -> String {
        switch value {
        case 1e9...: return fixed(value / 1e9, 2) + "G"
        case 1e6...: return fixed(value / 1e6, 2) + "M"
        case 1e3...: return fixed(value / 1e3, 1) + "k"
        default: return fixed(value, 0)
        }
    }

    /// Nanoseconds → "12.3s" or "2m03s".
    public static func duration(_ nanos: Int64) -> String {
        let seconds = Double(nanos) / 1e9
        if seconds < 60 { return fixed(seconds, 1) + "s" }
        let whole = Int(seconds)
        let s = whole % 60
        return "\(whole / 60)m" + (s < 10 ? "0" : "") + "\(s)s"
    }

    /// A fixed-point rendering without Foundation.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let integer = UInt64(scaled / scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + String(integer)
        if digits > 0 {
            let fraction = UInt64(scaled) - integer * UInt64(scale)
            var f = String(fraction)
            while f.count < digits { f = "0" + f }
            text += "." + f
        }
        return text
    }
}
