import CLibvirt

/// A libvirt call that failed: what was being done and libvirt's own message.
public struct LibvirtError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being done ("connect to qemu:///system").
    public var operation: String
    /// libvirt's message (virGetLastError), or a description when libvirt gave none.
    public var message: String
    /// libvirt's error code (`virErrorNumber`), 0 when unknown.
    public var code: Int32

    public init(operation: String, message: String, code: Int32 = 0) {
        self.operation = operation
        self.message = message
        self.code = code
    }

    /// The calling thread's last libvirt error (libvirt keeps one per thread), then cleared.
    static func last(_ operation: String, _ api: LibvirtAPI) -> LibvirtError {
        guard let error = api.getLastError() else {
            return LibvirtError(operation: operation, message: "libvirt reported no details")
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? "libvirt reported no details"
        let code = error.pointee.code
        api.resetLastError()
        return LibvirtError(operation: operation, message: message, code: code)
    }

    /// True when the domain asked for is not defined.
    public var isNoSuchDomain: Bool { code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }

    public var description: String { "\(operation): \(message)" }
}
