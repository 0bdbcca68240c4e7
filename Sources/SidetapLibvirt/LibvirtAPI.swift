import CLibvirt
import SidetapCore

/// The libvirt client functions Sidetap calls, looked up in `libvirt.so.0` when a job first
/// resolves a guest (libvirt is loaded at run time, not linked: see `SharedLibrary`). The
/// types and constants still come from libvirt's headers (`CLibvirt`).
struct LibvirtAPI: @unchecked Sendable {
    typealias ErrorFunction = @convention(c) (UnsafeMutableRawPointer?, virErrorPtr?) -> Void

    let initialize: @convention(c) () -> Int32
    let setErrorFunction: @convention(c) (UnsafeMutableRawPointer?, ErrorFunction?) -> Void
    let connectOpenReadOnly: @convention(c) (UnsafePointer<CChar>?) -> virConnectPtr?
    let connectClose: @convention(c) (virConnectPtr?) -> Int32
    let connectListAllDomains: @convention(c) (virConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<virDomainPtr?>?>?, UInt32) -> Int32
    let domainLookupByName: @convention(c) (virConnectPtr?, UnsafePointer<CChar>?) -> virDomainPtr?
    let domainFree: @convention(c) (virDomainPtr?) -> Int32
    let domainGetState: @convention(c) (virDomainPtr?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UInt32) -> Int32
    let domainGetXMLDesc: @convention(c) (virDomainPtr?, UInt32) -> UnsafeMutablePointer<CChar>?
    let domainGetName: @convention(c) (virDomainPtr?) -> UnsafePointer<CChar>?
    let getLastError: @convention(c) () -> virErrorPtr?
    let resetLastError: @convention(c) () -> Void

    /// The library's soname (libvirt0 on Debian).
    static let libraryName = "libvirt.so.0"

    /// Loaded once per process: libvirt initialised and its default error printer (to
    /// standard error) replaced by a silent one; or why it could not be loaded.
    static let shared: Result<LibvirtAPI, LibvirtError> = {
        do {
            let api = try LibvirtAPI(SharedLibrary(opening: libraryName))
            _ = api.initialize()
            api.setErrorFunction(nil) { _, _ in }
            return .success(api)
        } catch {
            return .failure(LibvirtError(operation: "load libvirt", message: "\(error) (install libvirt0)"))
        }
    }()

    private init(_ library: SharedLibrary) throws(SharedLibraryError) {
        initialize = try library.function("virInitialize")
        setErrorFunction = try library.function("virSetErrorFunc")
        connectOpenReadOnly = try library.function("virConnectOpenReadOnly")
        connectClose = try library.function("virConnectClose")
        connectListAllDomains = try library.function("virConnectListAllDomains")
        domainLookupByName = try library.function("virDomainLookupByName")
        domainFree = try library.function("virDomainFree")
        domainGetState = try library.function("virDomainGetState")
        domainGetXMLDesc = try library.function("virDomainGetXMLDesc")
        domainGetName = try library.function("virDomainGetName")
        getLastError = try library.function("virGetLastError")
        resetLastError = try library.function("virResetLastError")
    }
}
