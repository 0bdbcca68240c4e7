import SidetapCapture

/// Resolves a libvirt domain to its host interfaces for a `GuestSource`: each `resolve()`
/// opens a read-only connection, looks the domain up, reads its state and its live XML's
/// `<interface><target dev='…'/>`, and closes the connection again (so a restarted libvirtd
/// costs nothing but one failed lookup).
public final class LibvirtGuestResolver: InterfaceResolver {
    /// The domain's name.
    public let domain: String
    /// The hypervisor (`qemu:///system`; `test:///path.xml` in tests).
    public let uri: String

    public init(domain: String, uri: String = LibvirtGuestResolver.defaultURI) {
        self.domain = domain
        self.uri = uri
    }

    /// The system QEMU/KVM hypervisor.
    public static let defaultURI = "qemu:///system"

    public var subject: String { "guest \(domain) on \(uri)" }

    /// Looks the domain up now; nil when it is not defined. Throws when libvirt cannot be asked.
    public func lookup() throws(LibvirtError) -> DomainSnapshot? {
        try LibvirtConnection(uri: uri).domain(named: domain)
    }

    public func resolve() -> InterfaceResolution {
        do {
            guard let snapshot = try lookup() else { return .unavailable("guest \(domain) is not defined on \(uri)") }
            guard snapshot.state.hasInterfaces else { return .unavailable("guest \(domain) is \(snapshot.state)") }
            return .interfaces(snapshot.captureTargets)
        } catch {
            return .failed(error.description)
        }
    }
}
