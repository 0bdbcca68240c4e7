import Foundation
import SidetapCore

/// Text pieces of the `sidetap top` frame: rates, counts, durations, and safe plain text.
public enum TopFormat {
    /// 452100 → "452.1k", 3 → "3", 0.4 → "0.4"; nil (no rate yet) → "-".
    public static func rate(_ value: Double?) -> String {
        guard let value, value.isFinite, value >= 0 else { return "-" }
        switch value {
        case 1e9...: return fixed(value / 1e9, 2) + "G"
        case 1e6...: return fixed(value / 1e6, 2) + "M"
        case 1e3...: return fixed(value / 1e3, 1) + "k"
        case 10...: return fixed(value, 0)
        case 0: return "0"
        default: return fixed(value, 1)
        }
    }

    /// Bits per second as megabits per second with two decimals; nil → "-".
    public static func megabits(_ bitsPerSecond: Double?) -> String {
        guard let bitsPerSecond, bitsPerSecond.isFinite, bitsPerSecond >= 0 else { return "-" }
        return fixed(bitsPerSecond / 1e6, 2)
    }

    /// 1234567 → "1,234,567".
    public static func count(_ value: UInt64) -> String { Format.count(value) }

    /// A drop counter with its rate: "0", "1,204", "1,204 +35/s".
    public static func drops(_ total: UInt64, perSecond: Double?) -> String {
        guard let perSecond, perSecond > 0 else { return count(total) }
        return count(total) + " +" + rate(perSecond) + "/s"
    }

    /// Seconds → "42s", "3m07s", "2h05m", "3d04h".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return "0s" }
        let whole = Int(seconds)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        switch whole {
        case ..<60: return "\(whole)s"
        case ..<3600: return "\(whole / 60)m\(two(whole % 60))s"
        case ..<86400: return "\(whole / 3600)h\(two(whole % 3600 / 60))m"
        default: return "\(whole / 86400)d\(two(whole % 86400 / 3600))h"
        }
    }

    /// A fixed-point rendering.
    public static func fixed(_ value: Double, _ digits: Int) -> String { Format.fixed(value, digits) }

    /// Text from the daemon made safe to print on a terminal: control characters (an escape
    /// sequence in an interface name, a newline in an error) become "?".
    public static func plain(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            out.append(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? "?" : scalar)
        }
        return String(out)
    }

    /// The first `width` characters of `text` (never wraps); "" for a width of 0 or less.
    public static func clip(_ text: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        return text.count <= width ? text : String(text.prefix(width))
    }
}
