import CPcap
import SidetapCore

/// A pcap or pcapng file opened with libpcap (`pcap_open_offline_with_tstamp_precision`),
/// timestamps in nanoseconds.
///
/// Not thread-safe: one thread reads it. `close()` is idempotent and also runs on deinit.
public final class OfflineCapture {
    @usableFromInline var handle: OpaquePointer?
    /// The path it was opened from.
    public let path: String
    /// Link type of every packet (pcapng files with several interfaces report the first).
    public let linkType: LinkType
    /// The file's snapshot length.
    public let snaplen: Int
    /// True for a pcapng file (libpcap reads both).
    public let isPcapng: Bool
    /// The file's timestamp resolution in fractional digits (6 or 9) as written.
    public let fileTimestampDigits: Int

    /// Opens `path`; throws libpcap's message when it is not a capture file libpcap reads.
    public init(path: String) throws(PcapError) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            throw PcapError(operation: "open \(path)", message: errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        self.handle = handle
        self.path = path
        self.linkType = LinkType(dlt: pcap_datalink(handle))
        self.snaplen = Int(pcap_snapshot(handle))
        // The magic number tells pcapng and the timestamp resolution apart. It is read again
        // from a regular file only: a named pipe or a device can be read once, by libpcap, so
        // there the version libpcap reports decides (1.0 for its pcapng reader, 2.x for pcap)
        // and the resolution is taken as microseconds.
        if FileStatus.isRegularFile(path) {
            let magic = Self.magic(of: path)
            self.isPcapng = magic == 0x0A0D_0D0A
            self.fileTimestampDigits = (magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1) ? 9 : 6
        } else {
            self.isPcapng = pcap_major_version(handle) == 1
            self.fileTimestampDigits = 6
        }
    }

    deinit { close() }

    static func magic(of path: String) -> UInt32 {
        guard let file = fopen(path, "rb") else { return 0 }
        defer { fclose(file) }
        var value: UInt32 = 0
        guard fread(&value, 4, 1, file) == 1 else { return 0 }
        return UInt32(bigEndian: value)
    }

    /// The outcome of reading one record.
    public enum Next {
        /// A packet; the bytes are valid until the next call.
        case packet(CapturedPacket)
        /// End of file.
        case end
        /// libpcap reported an error (a truncated record, a bad header); reading stops here.
        case error(String)
    }

    /// Reads the next record with `pcap_next_ex`.
    @inlinable
    public func next() -> Next {
        guard let handle else { return .end }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let result = pcap_next_ex(handle, &header, &data)
        switch result {
        case 1:
            let h = header!.pointee
            let bytes = UnsafeRawBufferPointer(start: data, count: Int(h.caplen))
            let nanos = Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec)
            return .packet(CapturedPacket(bytes: bytes, wireLength: max(h.len, h.caplen), timestampNanos: nanos))
        case PCAP_ERROR_BREAK:
            return .end
        default:
            return .error(String(cString: pcap_geterr(handle)))
        }
    }

    /// Closes the file (`pcap_close`).
    public func close() {
        if let handle { pcap_close(handle) }
        handle = nil
    }
}
