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
/// libvirt's default error handler (which prints to standard error) is replaced by a silent
/// one; errors are returned as `LibvirtError`. Use a connection from one thread at a time.
public final class LibvirtConnection {
    /// The URI it was opened with (`qemu:///system`, `test:///default`, `test:///path.xml`).
    public let uri: String
    private let handle: virConnectPtr

    /// Opens a read-only connection. Wraps `virConnectOpenReadOnly`.
    public init(uri: String) throws(LibvirtError) {
        Self.prepare()
        guard let handle = virConnectOpenReadOnly(uri) else {
            throw LibvirtError.last("connect to \(uri)")
        }
        self.uri = uri
        self.handle = handle
    }

    deinit { virConnectClose(handle) }

    /// Looks a domain up by name: its state and its interfaces; nil when no domain of that
    /// name is defined. Wraps `virDomainLookupByName`, `virDomainGetState`, `virDomainGetXMLDesc`.
    public func domain(named name: String) throws(LibvirtError) -> DomainSnapshot? {
        guard let domain = virDomainLookupByName(handle, name) else {
            let error = LibvirtError.last("look up domain \(name) on \(uri)")
            if error.isNoSuchDomain { return nil }
            throw error
        }
        defer { virDomainFree(domain) }
        var state: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(domain, &state, &reason, 0) == 0 else {
            throw LibvirtError.last("read the state of domain \(name) on \(uri)")
        }
        guard let raw = virDomainGetXMLDesc(domain, 0) else {
            throw LibvirtError.last("read the XML of domain \(name) on \(uri)")
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
        let count = virConnectListAllDomains(handle, &list, 0)
        guard count >= 0, let list else { throw LibvirtError.last("list the domains on \(uri)") }
        var names: [String] = []
        for i in 0..<Int(count) {
            guard let domain = list[i] else { continue }
            if let name = virDomainGetName(domain) { names.append(String(cString: name)) }
            virDomainFree(domain)
        }
        free(list)
        return names.sorted()
    }

    /// Initialises libvirt once and silences its default error printer.
    private static let prepared: Bool = {
        _ = virInitialize()
        virSetErrorFunc(nil) { _, _ in }
        return true
    }()

    private static func prepare() { _ = prepared }
}
