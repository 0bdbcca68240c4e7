import SidetapCore
import SidetapEvidence

/// When a file port starts a new file, and how many it keeps.
public struct FileRotation: Sendable, Hashable {
    /// Start a new file before a record would make the current one larger than this
    /// (a file always holds at least one packet).
    public var maxBytes: Int?
    /// Start a new file at every multiple of this many seconds since the Unix epoch
    /// (60 → files end at each minute's :00), timed by the clock, not by packets.
    public var intervalSeconds: Int?
    /// After each finished file, delete this port's oldest rotated files beyond this count.
    public var keep: Int?

    public init(maxBytes: Int? = nil, intervalSeconds: Int? = nil, keep: Int? = nil) {
        self.maxBytes = maxBytes
        self.intervalSeconds = intervalSeconds
        self.keep = keep
    }

    /// True when files rotate by size or time (names then carry time and sequence).
    public var isEnabled: Bool { maxBytes != nil || intervalSeconds != nil }
}

/// Settings of a `FilePort`; maps onto a `kind: file` port in the config.
public struct FilePortSettings: Sendable {
    /// The file to write (without rotation exactly this name; with rotation the stem and
    /// extension of the rotated names). Missing parent directories are created.
    public var path: String
    /// pcap or pcapng.
    public var format: CaptureFormat
    /// Timestamp resolution written (default nanoseconds).
    public var precision: TimestampPrecision
    /// Rotation by size and/or time, and how many files to keep.
    public var rotation: FileRotation
    /// pcapng only: a section comment of the operator's (after the provenance comment).
    public var sectionComment: String?
    /// Where the packets come from: pcapng files carry it as their first section comment, the
    /// manifest records it when the port opens. nil: derived from the sources, no label.
    public var provenance: CaptureProvenance?
    /// Keep `<port name>.manifest` beside the files: a hash-chained entry per finished file
    /// (name, packet times and count, size, SHA-256) and per file rotation removed.
    public var manifest: Bool
    /// The clock for file names and time-based rotation.
    public var timeSource: any TimeSource
    /// Called on the port's worker thread with the path of each finished (renamed) file,
    /// for digests or shipping.
    public var onFileFinished: (@Sendable (String) -> Void)?

    /// `format` nil picks pcapng for a `.pcapng` path and pcap otherwise.
    public init(
        path: String,
        format: CaptureFormat? = nil,
        precision: TimestampPrecision = .nano,
        rotation: FileRotation = FileRotation(),
        sectionComment: String? = nil,
        provenance: CaptureProvenance? = nil,
        manifest: Bool = false,
        timeSource: any TimeSource = SystemTimeSource.shared,
        onFileFinished: (@Sendable (String) -> Void)? = nil
    ) {
        self.path = path
        self.format = format ?? CaptureFormat.inferred(fromPath: path)
        self.precision = precision
        self.rotation = rotation
        self.sectionComment = sectionComment
        self.provenance = provenance
        self.manifest = manifest
        self.timeSource = timeSource
        self.onFileFinished = onFileFinished
    }
}
