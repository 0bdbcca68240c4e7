import SidetapCore

/// Which reader a file source uses.
public enum FileReader: String, Sendable, Hashable, CaseIterable {
    /// The in-place mmap reader for classic pcap files, libpcap for everything else
    /// (pcapng, pipes, link types whose headers libpcap rewrites).
    case auto
    /// The mmap reader only; a file it cannot read is an error.
    case mmap
    /// libpcap's reader (`pcap_next_ex`), for any file libpcap opens.
    case libpcap
}

/// Opens pcap and pcapng files as packet sources.
public enum FileSources {
    /// A source for the capture file at `path`, checked now (errors name the path and carry
    /// libpcap's reason) and read after the source's `open()`.
    ///
    /// With `.auto`, a classic pcap file is read in place through a mapping
    /// (`MappedPcapFileSource`) and any other file through libpcap (`PcapFileSource`); both
    /// deliver the same packets. A named pipe is opened once, here, and read from that handle
    /// (so a writer such as `tcpdump -w FIFO` is read from its first byte).
    public static func open(
        path: String, name: String, guest: String? = nil, reader: FileReader = .auto,
        sourceIndex: UInt16 = 0
    ) throws(FileSourceError) -> any PacketSource {
        switch reader {
        case .libpcap:
            return try PcapFileSource(path: path, name: name, guest: guest, sourceIndex: sourceIndex)
        case .mmap:
            return try MappedPcapFileSource(path: path, name: name, guest: guest, sourceIndex: sourceIndex)
        case .auto:
            // Only a regular file can be mapped; a named pipe or a device is read by libpcap,
            // opened once (probing it for the mapped reader first would consume its header).
            guard FileStatus.isRegularFile(path) else {
                return try PcapFileSource(path: path, name: name, guest: guest, sourceIndex: sourceIndex)
            }
            let plan = try MappedPcapFileSource.plan(path: path)
            if case .mapped = plan.reader {
                return try MappedPcapFileSource(path: path, name: name, guest: guest, sourceIndex: sourceIndex, populate: false, plan: plan)
            }
            return try PcapFileSource(path: path, name: name, guest: guest, sourceIndex: sourceIndex)
        }
    }
}
