import CPcap
import SidetapCore

/// A pcap-filter (tcpdump syntax) expression compiled by libpcap into a BPF program for one
/// link type, evaluated in user space with libpcap's `bpf_filter`.
///
/// libpcap is the only parser of the syntax: an invalid expression fails with libpcap's message.
public final class FilterProgram: @unchecked Sendable {
    /// The expression as written.
    public let expression: String
    /// The link type it was compiled for.
    public let linkType: LinkType
    @usableFromInline var program: bpf_program

    /// Compiles `expression` for `linkType` and `snaplen` (`pcap_open_dead` + `pcap_compile`,
    /// optimised, netmask unknown).
    public init(expression: String, linkType: LinkType, snaplen: Int = 262_144) throws(PcapError) {
        guard let dead = pcap_open_dead(linkType.dlt, Int32(snaplen)) else {
            throw PcapError(operation: "compile", message: "pcap_open_dead failed for link type \(linkType)")
        }
        defer { pcap_close(dead) }
        var program = bpf_program()
        if pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN) != 0 {
            throw PcapError(operation: "compile", message: String(cString: pcap_geterr(dead)))
        }
        self.expression = expression
        self.linkType = linkType
        self.program = program
    }

    deinit { pcap_freecode(&program) }

    /// Number of BPF instructions.
    public var instructionCount: Int { Int(program.bf_len) }

    /// True when the program accepts the packet (`bpf_filter` returns non-zero), exactly as
    /// `tcpdump -r` with the same expression would decide.
    @inlinable
    public func matches(_ bytes: UnsafeRawBufferPointer, wireLength: UInt32) -> Bool {
        guard let base = bytes.baseAddress else {
            return bpf_filter(program.bf_insns, nil, wireLength, 0) != 0
        }
        return bpf_filter(program.bf_insns, base.assumingMemoryBound(to: UInt8.self), wireLength, UInt32(bytes.count)) != 0
    }

    /// The program in `tcpdump -d` form (`bpf_image`), for `sidetap check --verbose`.
    public var listing: [String] {
        (0..<Int(program.bf_len)).map { i in
            String(cString: bpf_image(program.bf_insns.advanced(by: i), Int32(i)))
        }
    }
}
