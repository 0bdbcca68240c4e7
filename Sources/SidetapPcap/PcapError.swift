/// A libpcap failure with libpcap's own message.
public struct PcapError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What libpcap's status code says went wrong, for callers that react differently
    /// (a missing interface may appear later; a permission problem will not go away).
    public enum Kind: Sendable, Hashable {
        /// Any other failure (PCAP_ERROR, a failed setter, a compile error).
        case general
        /// PCAP_ERROR_NO_SUCH_DEVICE: the interface does not exist.
        case noSuchDevice
        /// PCAP_ERROR_PERM_DENIED: capture needs CAP_NET_RAW (or root).
        case permissionDenied
        /// PCAP_ERROR_PROMISC_PERM_DENIED: promiscuous mode needs CAP_NET_ADMIN.
        case promiscuousPermissionDenied
        /// PCAP_ERROR_IFACE_NOT_UP: the interface is down.
        case interfaceNotUp
        /// The capture's interface went away or down while capturing (ENETDOWN, ENODEV).
        case interfaceLost
    }

    /// What Sidetap was doing ("open", "compile", "activate", …).
    public var operation: String
    /// libpcap's message (`pcap_geterr` or the error buffer), verbatim, or Sidetap's
    /// explanation of a status code libpcap gives no text for.
    public var message: String
    /// The class of failure.
    public var kind: Kind

    public init(operation: String, message: String, kind: Kind = .general) {
        self.operation = operation
        self.message = message
        self.kind = kind
    }

    public var description: String { "\(operation): \(message)" }
}
