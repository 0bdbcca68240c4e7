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
