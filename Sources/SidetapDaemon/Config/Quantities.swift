/// Parsers for the quantities config values use: sizes, durations, bit rates.
///
/// Sizes take B, KB/MB/GB (powers of 1000) and KiB/MiB/GiB (powers of 1024);
/// durations take ms, s, m, h, d; bit rates take k/M/G (powers of 1000), with an optional
/// "bps" or "bit/s" suffix, as tcpreplay and tc spell them.
public enum Quantities {
    /// Parses "1500", "64KiB", "100MB", "1.5GiB" into bytes.
    public static func bytes(_ text: String) -> Int? {
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12),
            ("k", 1e3), ("K", 1024), ("M", 1_048_576), ("G", 1_073_741_824), ("B", 1),
        ]
        return scaled(text, units: units).flatMap { $0 >= 0 && $0 < 9e18 ? Int($0.rounded()) : nil }
    }

    /// Parses "250ms", "60s", "5m", "1h", "1d" or a bare number of seconds into seconds.
    public static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        return scaled(text, units: units).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Parses "50M", "1.5Gbps", "800kbit/s", "1000000" into bits per second.
    public static func bitsPerSecond(_ text: String) -> Double? {
        var t = text.trimmingSpaces
        for suffix in ["bit/s", "bps", "b/s"] where t.hasSuffix(suffix) {
            t.removeLast(suffix.count)
            break
        }
        let units: [(String, Double)] = [("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        return scaled(t, units: units).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Parses a rate in packets per second: "10000", "10k", "1.5M".
    public static func packetsPerSecond(_ text: String) -> Double? {
        var t = text.trimmingSpaces
        if t.hasSuffix("pps") { t.removeLast(3) }
        let units: [(String, Double)] = [("k", 1e3), ("K", 1e3), ("M", 1e6)]
        return scaled(t, units: units).flatMap { $0 > 0 ? $0 : nil }
    }

    static func scaled(_ text: String, units: [(String, Double)]) -> Double? {
        let t = text.trimmingSpaces
        guard !t.isEmpty else { return nil }
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            let number = String(t.dropLast(suffix.count)).trimmingSpaces
            guard let value = Double(number), value.isFinite else { return nil }
            return value * factor
        }
        guard let value = Double(t), value.isFinite else { return nil }
        return value
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
