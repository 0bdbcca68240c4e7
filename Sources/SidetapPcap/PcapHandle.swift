import CPcap

/// Owns one `pcap_t`; closes it exactly once (on `close()` or deinit).
final class PcapHandle {
    private(set) var pointer: OpaquePointer?

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { close() }

    func close() {
        if let pointer { pcap_close(pointer) }
        pointer = nil
    }

    /// libpcap's last error text for this handle.
    var lastError: String {
        guard let pointer else { return "the capture is closed" }
        return String(cString: pcap_geterr(pointer))
    }
}

/// Runs `body` with a libpcap error buffer and returns its text.
func withErrorBuffer<T>(_ body: (UnsafeMutablePointer<CChar>) -> T) -> (T, String) {
    var buffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
    let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (result, text)
}
