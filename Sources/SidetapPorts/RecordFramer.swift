import SidetapCore

/// The framing a file or stream port uses, chosen once at open: pcap or pcapng.
enum RecordFramer {
    case pcap(PcapFraming)
    case pcapng(PcapngFraming)

    init(
        port: String, format: CaptureFormat, sources: [SourceDescription],
        precision: TimestampPrecision, sectionComment: String?, provenanceComment: String? = nil
    ) throws(PortSetupError) {
        switch format {
        case .pcap:
            self = .pcap(try PcapFraming(port: port, sources: sources, precision: precision))
        case .pcapng:
            self = .pcapng(try PcapngFraming(
                port: port, sources: sources, precision: precision,
                sectionComments: [provenanceComment, sectionComment].compactMap { $0 }))
        }
    }

    /// The bytes that start every file or stream.
    func fileHeader() -> [UInt8] {
        switch self {
        case .pcap(let framing): framing.fileHeader()
        case .pcapng(let framing): framing.fileHeader()
        }
    }

    /// The record length for `packet`, or nil when the packet cannot be framed here
    /// (unknown source index, or a link type the file does not declare).
    func recordLength(of packet: OutboundPacket) -> Int? {
        switch self {
        case .pcap(let framing):
            guard packet.linkType == framing.linkType else { return nil }
            return framing.recordLength(capturedLength: packet.bytes.count)
        case .pcapng(let framing):
            guard framing.accepts(packet) else { return nil }
            return framing.recordLength(capturedLength: packet.bytes.count)
        }
    }

    func writeRecord(_ packet: OutboundPacket, to destination: UnsafeMutableRawPointer) {
        switch self {
        case .pcap(let framing): framing.writeRecord(packet, to: destination)
        case .pcapng(let framing): framing.writeRecord(packet, to: destination)
        }
    }
}
