#if canImport(Glibc)
import Glibc
#endif

/// A shared library opened at run time (`dlopen`) and the C functions looked up in it.
///
/// Sidetap loads the libraries only some jobs need this way — libvirt for guests resolved by
/// name, libnftables for block cuts — instead of linking them: every `sidetap` process then
/// starts without them and their own dependencies (libvirt alone brings about fifty: gnutls,
/// glib, curl, Kerberos…; measured, linking both cost 16 ms at each start), and a host
/// without them runs every other job. A job that needs one and cannot load it gets the
/// loader's reason.
///
/// ```swift
/// let library = try SharedLibrary(opening: "libnftables.so.1")
/// let new: @convention(c) (UInt32) -> OpaquePointer? = try library.function("nft_ctx_new")
/// ```
public final class SharedLibrary: @unchecked Sendable {
    /// The name it was opened with (a soname such as `libvirt.so.0`).
    public let name: String
    private let handle: UnsafeMutableRawPointer

    /// Opens the library (RTLD_NOW: every symbol it needs is resolved here, not at a first
    /// call; RTLD_LOCAL: its symbols stay out of the global namespace). The library stays
    /// loaded for the life of the process.
    public init(opening name: String) throws(SharedLibraryError) {
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            throw SharedLibraryError(library: name, reason: Self.loaderMessage() ?? "cannot be loaded")
        }
        self.name = name
        self.handle = handle
    }

    /// The function `symbol` as the C function type `T` (an `@convention(c)` function type
    /// that must match the library's declaration).
    public func function<T>(_ symbol: String, as type: T.Type = T.self) throws(SharedLibraryError) -> T {
        _ = dlerror()
        guard let address = dlsym(handle, symbol) else {
            throw SharedLibraryError(library: name, reason: Self.loaderMessage() ?? "has no symbol \(symbol)")
        }
        return unsafeBitCast(address, to: T.self)
    }

    private static func loaderMessage() -> String? {
        guard let message = dlerror() else { return nil }
        return String(cString: message)
    }
}

/// A shared library that could not be opened, or lacks a function Sidetap calls.
public struct SharedLibraryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The library's name (`libvirt.so.0`).
    public var library: String
    /// The dynamic loader's message.
    public var reason: String

    public init(library: String, reason: String) {
        self.library = library
        self.reason = reason
    }

    public var description: String { "cannot load \(library): \(reason)" }
}
