import SidetapCore

/// How a classic (non-pcapng) pcap file lays out its records, read from its 24-byte header
/// the way libpcap 1.10 reads it.
///
/// Four magic numbers in either byte order: microsecond (0xA1B2C3D4), nanosecond
/// (0xA1B23C4D) and Kuznetzov's modified format (0xA1B2CD34, microseconds, 24-byte record
/// headers). Versions before 2.3 and DG/UX's 543.0 store `len` before `caplen`; 2.3 files
/// may or may not, so a record whose caplen exceeds its len is read swapped.
struct ClassicPcapFormat: Equatable {
    /// How a record header orders its two length fields.
    enum LengthOrder: Equatable {
        /// caplen then len (2.4 and later).
        case normal
        /// len then caplen (before 2.3, and 543.0).
        case swapped
        /// 2.3: swapped only when caplen would exceed len.
        case maybeSwapped
    }

    static let microsecondMagic: UInt32 = 0xA1B2_C3D4
    static let nanosecondMagic: UInt32 = 0xA1B2_3C4D
    static let kuznetzovMagic: UInt32 = 0xA1B2_CD34
    static let fileHeaderSize = 24

    /// The file was written in the other byte order than this host's.
    var byteSwapped: Bool
    /// Record timestamps carry nanoseconds (otherwise microseconds).
    var nanosecondTimestamps: Bool
    /// 16, or 24 for Kuznetzov's format (ifindex, protocol, packet type after the lengths).
    var recordHeaderSize: Int
    var lengthOrder: LengthOrder
    var versionMajor: UInt16
    var versionMinor: UInt16

    /// Reads the header; nil when the first bytes are not a classic pcap magic number or the
    /// header is shorter than 24 bytes (libpcap rejects those files itself, with its message).
    init?(header: UnsafeRawBufferPointer) {
        guard header.count >= Self.fileHeaderSize else { return nil }
        let native = header.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        let known: Set<UInt32> = [Self.microsecondMagic, Self.nanosecondMagic, Self.kuznetzovMagic]
        let magic: UInt32
        if known.contains(native) {
            magic = native
            byteSwapped = false
        } else if known.contains(native.byteSwapped) {
            magic = native.byteSwapped
            byteSwapped = true
        } else {
            return nil
        }
        nanosecondTimestamps = magic == Self.nanosecondMagic
        recordHeaderSize = magic == Self.kuznetzovMagic ? 24 : 16
        let major = header.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        let minor = header.loadUnaligned(fromByteOffset: 6, as: UInt16.self)
        versionMajor = byteSwapped ? major.byteSwapped : major
        versionMinor = byteSwapped ? minor.byteSwapped : minor
        switch (versionMajor, versionMinor) {
        case (2, 0..<3), (543, _): lengthOrder = .swapped
        case (2, 3): lengthOrder = .maybeSwapped
        default: lengthOrder = .normal
        }
    }

    /// Reads the first 24 bytes of `path`; nil when unreadable or not classic pcap.
    init?(path: String) {
        var bytes = [UInt8](repeating: 0, count: Self.fileHeaderSize)
        let got = bytes.withUnsafeMutableBytes { buffer in
            FileIO.readPrefix(path: path, into: buffer)
        }
        guard got == Self.fileHeaderSize else { return nil }
        guard let format = bytes.withUnsafeBytes({ ClassicPcapFormat(header: $0) }) else { return nil }
        self = format
    }

    /// The largest caplen libpcap accepts for a link type before calling the record damaged
    /// (libpcap's per-DLT maximum: D-Bus 128 MiB, EBHSCR 8 MiB, USBPcap 1 MiB, else 256 KiB).
    static func maximumCaptureLength(for linkType: LinkType) -> UInt32 {
        switch linkType.rawValue {
        case 231: 128 * 1024 * 1024
        case 279: 8 * 1024 * 1024
        case 249: 1024 * 1024
        default: 262_144
        }
    }

    /// Why libpcap would hand out bytes that differ from the file for this link type, or nil.
    ///
    /// libpcap rewrites some pseudo-headers while reading: it converts host-order fields of
    /// PFLOG, Linux SLL/SLL2 (SocketCAN IDs), Linux USB and NFLOG headers written on a host of
    /// the other byte order, and corrects the wire length of some memory-mapped Linux USB
    /// records. An in-place reader of a read-only mapping cannot do that, so such files are
    /// read through libpcap.
    func libpcapRewrite(linkType: LinkType) -> String? {
        let raw = linkType.rawValue
        if raw == 220 {
            return "libpcap corrects wire lengths of \(linkType) records while reading"
        }
        if byteSwapped && [113, 117, 189, 239, 276].contains(raw) {
            return "libpcap converts \(linkType) pseudo-headers written in the other byte order"
        }
        return nil
    }
}
