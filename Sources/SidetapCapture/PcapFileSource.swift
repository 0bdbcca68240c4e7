import SidetapCore
import SidetapPcap

/// A pcap or pcapng file read through libpcap (`pcap_next_ex`, nanosecond timestamps).
///
/// Delivered bytes live in libpcap's buffer and are valid only during the delivery callback
/// (`bytesOutliveDelivery` is false). Direction is `.unknown`: the decoder reads it from
/// Linux cooked headers itself. A read error in the middle of the file (a truncated record,
/// a bogus length) ends the input: it is counted in `statistics.errors` and its libpcap
/// message is kept in `lastProblem`.
public final class PcapFileSource: PacketSource {
    public let description: SourceDescription
    /// The file read.
    public let path: String
    /// Stamped into every delivered packet's `sourceIndex`.
    public let sourceIndex: UInt16
    public var bytesOutliveDelivery: Bool { false }

    private var capture: OfflineCapture?
    /// The handle `init` opened to learn the file's link type, kept for the first `open()`:
    /// a named pipe can be read only once (opening it again would wait for another writer
    /// and miss the header this handle already read).
    private var probed: OfflineCapture?
    private var finished = false
    private let state = SourceState()

    /// Checks that libpcap reads `path` and learns its link type and snapshot length; the
    /// file is read after `open()`, from the handle opened here. Throws libpcap's reason when
    /// it refuses the file.
    public init(path: String, name: String, guest: String? = nil, sourceIndex: UInt16 = 0) throws(FileSourceError) {
        let probe = try Self.openCapture(path)
        probed = probe
        self.path = path
        self.sourceIndex = sourceIndex
        self.description = SourceDescription(
            name: name, guest: guest, linkType: probe.linkType, snaplen: probe.snaplen,
            timestampDigits: probe.fileTimestampDigits, origin: path)
    }

    static func openCapture(_ path: String) throws(FileSourceError) -> OfflineCapture {
        do {
            return try OfflineCapture(path: path)
        } catch {
            throw FileSourceError(path: path, reason: error.message)
        }
    }

    /// Opens the file for reading from its first packet (the first time with the handle `init`
    /// opened); does nothing when already open.
    public func open() throws {
        guard capture == nil else { return }
        if let probed {
            capture = probed
            self.probed = nil
        } else {
            capture = try Self.openCapture(path)
        }
        finished = false
        state.resetStop()
    }

    /// Delivers up to `limit` packets; `.endOfInput` at the end of the file, after a read
    /// error, or after `stop()`.
    public func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        guard let capture else { throw FileSourceError(path: path, reason: "poll on a source that is not open") }
        if finished { return .endOfInput }
        if state.isStopRequested {
            finished = true
            return .endOfInput
        }
        var count = 0
        reading: while count < limit {
            switch capture.next() {
            case .packet(var packet):
                packet.sourceIndex = sourceIndex
                deliver(packet)
                count += 1
            case .end:
                finished = true
                break reading
            case .error(let message):
                state.recordReadError(message)
                finished = true
                break reading
            }
        }
        return state.pollOutcome(delivered: count, finished: finished)
    }

    /// Makes the next `poll` return `.endOfInput`; safe from any thread.
    public func stop() { state.requestStop() }

    /// Closes the libpcap handle; a later `open()` reads the file again from the start.
    public func close() {
        probed?.close()
        probed = nil
        capture?.close()
        capture = nil
    }

    public var statistics: SourceStatistics { state.statistics }
    public var lastProblem: String? { state.lastProblem }
}
