/// A libpcap failure with libpcap's own message.
public struct PcapError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What Sidetap was doing ("open", "compile", "activate", …).
    public var operation: String
    /// libpcap's message (`pcap_geterr` or the error buffer), verbatim.
    public var message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}
