/// What a resolver found out about a guest: the host interfaces it has now, that it has none
/// (shut off, not defined), or that it could not find out.
public enum InterfaceResolution: Sendable, Hashable, CustomStringConvertible {
    /// The guest is running with these host interfaces (in its own order; possibly none).
    case interfaces([String])
    /// The guest has no interfaces now, for this reason ("guest web01 is shut off").
    case unavailable(String)
    /// The lookup itself failed (the hypervisor cannot be reached); whatever is being captured
    /// stays as it is until a lookup succeeds.
    case failed(String)

    public var description: String {
        switch self {
        case .interfaces(let names): names.isEmpty ? "no interfaces" : names.joined(separator: ", ")
        case .unavailable(let reason): reason
        case .failed(let reason): "lookup failed: \(reason)"
        }
    }
}

/// Finds a guest's current host interfaces (libvirt's `SidetapLibvirt.LibvirtGuestResolver`,
/// or a test's script). Called from a background thread of the `GuestSource`, never on the
/// capture path; it may take a while (a connection to a hypervisor) and must not throw.
public protocol InterfaceResolver: AnyObject, Sendable {
    /// What is being resolved, in words ("guest web01 on qemu:///system").
    var subject: String { get }
    /// Looks the guest up now.
    func resolve() -> InterfaceResolution
}
