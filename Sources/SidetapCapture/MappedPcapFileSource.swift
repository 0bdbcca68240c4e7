import CSidetapLinux
import SidetapCore
import SidetapPcap

/// A classic pcap file read by walking its records in place in a read-only memory mapping:
/// no copy, no stdio, no per-packet system call.
///
/// It delivers exactly what libpcap 1.10 delivers for the same file: the same packets, bytes,
/// caplen, wire length and nanosecond timestamps, and it stops at the same record with the
/// same message when libpcap reports an error (a truncated record header or body, a caplen
/// above the link type's maximum). A caplen above the file's snapshot length is cut to the
/// snapshot length, as libpcap does. The link type and snapshot length are libpcap's own
/// reading of the file header (the file is probed with libpcap first).
///
/// Delivered bytes point into the mapping and stay valid until `close()`
/// (`bytesOutliveDelivery` is true). pcapng files, and the few link types whose headers
/// libpcap rewrites while reading, are refused: use `PcapFileSource` (the `FileSources`
/// factory chooses).
public final class MappedPcapFileSource: PacketSource {
    public let description: SourceDescription
    /// The file read.
    public let path: String
    /// Stamped into every delivered packet's `sourceIndex`.
    public let sourceIndex: UInt16
    /// Whether `open()` pre-faults the whole file (MAP_POPULATE).
    public let populate: Bool
    public var bytesOutliveDelivery: Bool { true }

    let format: ClassicPcapFormat
    /// libpcap's snapshot length for the file (`pcap_snapshot`): longer records are cut to it.
    let snapshot: UInt32
    /// libpcap's sanity limit for the link type: a longer caplen is an error.
    let maximumCaptureLength: UInt32

    private var file: MappedFile?
    private var cursor = ClassicPcapFormat.fileHeaderSize
    private var finished = false
    private let state = SourceState()

    /// Checks the file with libpcap and reads its header; throws when libpcap refuses the
    /// file or when it cannot be read in place (pcapng, not a regular file, a link type whose
    /// records libpcap rewrites). The file is mapped by `open()`.
    public convenience init(path: String, name: String, guest: String? = nil, sourceIndex: UInt16 = 0, populate: Bool = false) throws(FileSourceError) {
        try self.init(path: path, name: name, guest: guest, sourceIndex: sourceIndex, populate: populate, plan: Self.plan(path: path))
    }

    /// A source for a file already probed by `plan(path:)`.
    init(path: String, name: String, guest: String?, sourceIndex: UInt16, populate: Bool, plan: Plan) throws(FileSourceError) {
        let format: ClassicPcapFormat, linkType: LinkType, snaplen: Int
        switch plan.reader {
        case .mapped(let f, let l, let s): (format, linkType, snaplen) = (f, l, s)
        case .libpcap(let reason): throw FileSourceError(path: path, reason: reason)
        }
        self.path = path
        self.sourceIndex = sourceIndex
        self.populate = populate
        self.format = format
        self.snapshot = UInt32(clamping: snaplen)
        self.maximumCaptureLength = ClassicPcapFormat.maximumCaptureLength(for: linkType)
        self.description = SourceDescription(
            name: name, guest: guest, linkType: linkType, snaplen: snaplen,
            timestampDigits: format.nanosecondTimestamps ? 9 : 6, origin: path)
    }

    /// Which reader a file needs.
    struct Plan {
        enum Reader {
            /// Classic pcap that can be walked in place.
            case mapped(ClassicPcapFormat, LinkType, Int)
            /// Only libpcap reads it as libpcap does, for this reason.
            case libpcap(String)
        }
        var reader: Reader
    }

    /// Probes `path` with libpcap (errors carry libpcap's reason) and decides the reader.
    static func plan(path: String) throws(FileSourceError) -> Plan {
        let probe = try PcapFileSource.openCapture(path)
        defer { probe.close() }
        if probe.isPcapng {
            return Plan(reader: .libpcap("not a classic pcap file (pcapng)"))
        }
        guard FileStatus.isRegularFile(path) else {
            return Plan(reader: .libpcap("not a regular file, it cannot be mapped"))
        }
        guard let format = ClassicPcapFormat(path: path) else {
            return Plan(reader: .libpcap("not a classic pcap file"))
        }
        if let reason = format.libpcapRewrite(linkType: probe.linkType) {
            return Plan(reader: .libpcap(reason))
        }
        return Plan(reader: .mapped(format, probe.linkType, probe.snaplen))
    }

    /// Maps the file and starts at its first record; does nothing when already open.
    public func open() throws {
        guard file == nil else { return }
        do {
            file = try MappedFile(path: path, populate: populate)
        } catch {
            throw FileSourceError(path: path, reason: error.description)
        }
        cursor = ClassicPcapFormat.fileHeaderSize
        finished = false
        state.resetStop()
    }

    /// Delivers up to `limit` packets; `.endOfInput` at the end of the file, after a record
    /// libpcap would reject, or after `stop()`.
    public func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        guard let file else { throw FileSourceError(path: path, reason: "poll on a source that is not open") }
        if finished { return .endOfInput }
        if state.isStopRequested {
            finished = true
            return .endOfInput
        }
        let base = file.base
        let end = file.size
        let headerSize = format.recordHeaderSize
        let swapped = format.byteSwapped
        let lengthOrder = format.lengthOrder
        let fractionScale: Int64 = format.nanosecondTimestamps ? 1 : 1000
        let snapshot = self.snapshot
        let maximum = maximumCaptureLength
        let index = sourceIndex
        var cursor = self.cursor
        var count = 0
        var problem: String?

        while count < limit {
            let available = end &- cursor
            if available == 0 {
                finished = true
                break
            }
            if available < headerSize {
                problem = "truncated dump file; tried to read \(headerSize) header bytes, only got \(available)"
                break
            }
            let record = base + cursor
            var seconds = record.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            var fraction = record.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            var caplen = record.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
            var length = record.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
            if swapped {
                seconds = seconds.byteSwapped
                fraction = fraction.byteSwapped
                caplen = caplen.byteSwapped
                length = length.byteSwapped
            }
            switch lengthOrder {
            case .normal:
                break
            case .swapped:
                swap(&caplen, &length)
            case .maybeSwapped:
                if caplen > length { swap(&caplen, &length) }
            }
            if caplen > maximum {
                problem = caplen > snapshot
                    ? "invalid packet capture length \(caplen), bigger than snaplen of \(snapshot)"
                    : "invalid packet capture length \(caplen), bigger than maximum of \(maximum)"
                break
            }
            let body = cursor &+ headerSize
            let bodyAvailable = end &- body
            var captured = caplen
            if caplen > snapshot {
                // libpcap reads snapshot bytes, skips the rest of the record, reports snapshot.
                if bodyAvailable < Int(snapshot) {
                    problem = "truncated dump file; tried to read \(snapshot) captured bytes, only got \(bodyAvailable)"
                    break
                }
                if bodyAvailable < Int(caplen) {
                    problem = "truncated dump file; tried to read \(caplen) captured bytes, only got \(bodyAvailable)"
                    break
                }
                captured = snapshot
            } else if bodyAvailable < Int(caplen) {
                problem = "truncated dump file; tried to read \(caplen) captured bytes, only got \(bodyAvailable)"
                break
            }
            // libpcap widens the timestamp fields as signed 32-bit values, except in a file of
            // the other byte order, where its byte swap yields them unsigned.
            let nanos = swapped
                ? Int64(seconds) &* 1_000_000_000 &+ Int64(fraction) &* fractionScale
                : Int64(Int32(bitPattern: seconds)) &* 1_000_000_000 &+ Int64(Int32(bitPattern: fraction)) &* fractionScale
            // Start fetching the next record's header and the first bytes of its packet now,
            // so the miss overlaps with this packet's decode and selection.
            let next = body &+ Int(caplen)
            CSidetapLinux_prefetch(base + next)
            CSidetapLinux_prefetch(base + (next &+ 64))
            deliver(CapturedPacket(
                bytes: UnsafeRawBufferPointer(start: base + body, count: Int(captured)),
                wireLength: max(length, captured), timestampNanos: nanos,
                sourceIndex: index, direction: .unknown))
            cursor = next
            count &+= 1
        }
        self.cursor = cursor
        file.populator?.readerReached(cursor)
        if let problem {
            state.recordReadError(problem)
            finished = true
        }
        return state.pollOutcome(delivered: count, finished: finished)
    }

    /// Lets the page-table entries before `oldest` (or before everything read, for nil) be
    /// taken down (`PopulateAhead`).
    public func deliveredBytesInUse(from oldest: UnsafeRawPointer?) {
        guard let file, let populator = file.populator else { return }
        populator.referencedFrom(oldest.map { $0 - file.base } ?? cursor)
    }

    /// Makes the next `poll` return `.endOfInput`; safe from any thread.
    public func stop() { state.requestStop() }

    /// Unmaps the file: bytes of every earlier delivery become invalid. A later `open()`
    /// reads the file again from the start.
    public func close() {
        file?.unmap()
        file = nil
    }

    public var statistics: SourceStatistics { state.statistics }
    public var lastProblem: String? { state.lastProblem }
}
