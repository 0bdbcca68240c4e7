/// The container format of a capture file or stream.
public enum CaptureFormat: String, Sendable, Hashable, CaseIterable {
    /// Classic libpcap format: one link type per file, 16-byte record headers.
    case pcap
    /// pcapng: one interface per source (several link types allowed), section comment.
    case pcapng

    /// The format a file name suggests: `.pcapng` (or `.ntar`) gives `pcapng`, anything else
    /// classic `pcap`.
    public static func inferred(fromPath path: String) -> CaptureFormat {
        path.hasSuffix(".pcapng") || path.hasSuffix(".ntar") ? .pcapng : .pcap
    }
}

/// The resolution of the timestamps written into a capture.
public enum TimestampPrecision: String, Sendable, Hashable, CaseIterable {
    /// Nanoseconds (pcap magic a1b23c4d, pcapng if_tsresol 9).
    case nano
    /// Microseconds (pcap magic a1b2c3d4, pcapng if_tsresol 6); the sub-µs part is truncated.
    case micro

    /// Fractional decimal digits of one timestamp unit (9 or 6).
    public var digits: Int { self == .nano ? 9 : 6 }
}

/// Splits nanoseconds since the epoch into whole seconds and the nanoseconds past them
/// (floor division, so times before 1970 still give a remainder in 0..<1e9).
@inlinable
func splitNanos(_ nanos: Int64) -> (seconds: Int64, remainder: Int64) {
    var seconds = nanos / 1_000_000_000
    var remainder = nanos % 1_000_000_000
    if remainder < 0 {
        seconds -= 1
        remainder += 1_000_000_000
    }
    return (seconds, remainder)
}
