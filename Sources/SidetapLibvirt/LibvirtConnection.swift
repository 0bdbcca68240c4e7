import CLibvirt
#if canImport(Glibc)
import Glibc
#endif

/// A domain's run state (`virDomainState`), in libvirt's words.
public enum DomainState: String, Sendable, Hashable, CustomStringConvertible {
    case running
    case blocked
    case paused
    case shuttingDown = "shutting down"
    case shutOff = "shut off"
    case crashed
    case suspended = "suspended by the guest"
    case noState = "in no state"

    init(_ raw: Int32) {
        switch UInt32(bitPattern: raw) {
        case VIR_DOMAIN_RUNNING.rawValue: self = .running
        case VIR_DOMAIN_BLOCKED.rawValue: self = .blocked
        case VIR_DOMAIN_PAUSED.rawValue: self = .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: self = .shuttingDown
        case VIR_DOMAIN_SHUTOFF.rawValue: self = .shutOff
        case VIR_DOMAIN_CRASHED.rawValue: self = .crashed
        case VIR_DOMAIN_PMSUSPENDED.rawValue: self = .suspended
        default: self = .noState
        }
    }

    /// True while the domain's host interfaces exist (it is running, paused or on its way
    /// down); false once it is shut off or crashed.
    public var hasInterfaces: Bool {
        switch self {
        case .running, .blocked, .paused, .shuttingDown, .suspended: true
        case .shutOff, .crashed, .noState: false
        }
    }

    public var description: String { rawValue }
}

/// What a lookup found out about one domain.
public struct DomainSnapshot: Sendable, Hashable {
    public var name: String
    public var state: DomainState
    /// The interfaces of its live XML (with host devices only while it runs).
    public var interfaces: [DomainInterface]

    public init(name: String, state: DomainState, interfaces: [DomainInterface]) {
        self.name = name
        self.state = state
        self.interfaces = interfaces
    }

    /// The host devices to capture: those of the interfaces while the domain has them, in
    /// document order without repeats; none while it is down.
    public var captureTargets: [String] {
        guard state.hasInterfaces else { return [] }
        var names: [String] = []
        for interface in interfaces {
            if let target = interface.target, !names.contains(target) { names.append(target) }
        }
        return names
    }
}

/// A read-only connection to a libvirt hypervisor (`virConnectOpenReadOnly`): enough to look
/// domains up, never to change them. Closed on deinit.
///
/// libvirt is loaded on the first connection (`LibvirtAPI`); its default error handler (which
/// prints to standard error) is replaced by a silent one; errors are returned as
/// `LibvirtError`. Use a connection from one thread at a time.
public final class LibvirtConnection {
    /// The URI it was opened with (`qemu:///system`, `test:///default`, `test:///path.xml`).
    public let uri: String
    private let handle: virConnectPtr
    private let api: LibvirtAPI

    /// Opens a read-only connection, loading libvirt first if needed. Wraps
    /// `virConnectOpenReadOnly`.
    public init(uri: String) throws(LibvirtError) {
        let api = try LibvirtAPI.shared.get()
        guard let handle = api.connectOpenReadOnly(uri) else {
            throw LibvirtError.last("connect to \(uri)", api)
        }
        self.uri = uri
        self.handle = handle
        self.api = api
    }

    deinit { _ = api.connectClose(handle) }

    /// Looks a domain up by name: its state and its interfaces; nil when no domain of that
    /// name is defined. Wraps `virDomainLookupByName`, `virDomainGetState`, `virDomainGetXMLDesc`.
    public func domain(named name: String) throws(LibvirtError) -> DomainSnapshot? {
        guard let domain = api.domainLookupByName(handle, name) else {
            let error = LibvirtError.last("look up domain \(name) on \(uri)", api)
            if error.isNoSuchDomain { return nil }
            throw error
        }
        defer { _ = api.domainFree(domain) }
        var state: Int32 = 0
        var reason: Int32 = 0
        guard api.domainGetState(domain, &state, &reason, 0) == 0 else {
            throw LibvirtError.last("read the state of domain \(name) on \(uri)", api)
        }
        guard let raw = api.domainGetXMLDesc(domain, 0) else {
            throw LibvirtError.last("read the XML of domain \(name) on \(uri)", api)
        }
        let xml = String(cString: raw)
        free(raw)
        do {
            return DomainSnapshot(name: name, state: DomainState(state), interfaces: try DomainXML.interfaces(in: xml))
        } catch {
            throw LibvirtError(operation: "read the XML of domain \(name) on \(uri)", message: error.description)
        }
    }

    /// Names of the domains defined on the hypervisor, running or not (for reports).
    /// Wraps `virConnectListAllDomains`.
    public func domainNames() throws(LibvirtError) -> [String] {
        var list: UnsafeMutablePointer<virDomainPtr?>? = nil
        let count = api.connectListAllDomains(handle, &list, 0)
        guard count >= 0, let list else { throw LibvirtError.last("list the domains on \(uri)", api) }
        var names: [String] = []
        for i in 0..<Int(count) {
            guard let domain = list[i] else { continue }
            if let name = api.domainGetName(domain) { names.append(String(cString: name)) }
            _ = api.domainFree(domain)
        }
        free(list)
        return names.sorted()
    }
}
