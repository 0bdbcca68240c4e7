import CNftables
import SidetapCore

/// The libnftables functions block cuts call, looked up in `libnftables.so.1` on the first
/// nftables command (loaded at run time, not linked: see `SharedLibrary`). Flag values come
/// from libnftables' header (`CNftables`).
struct NftablesAPI: @unchecked Sendable {
    let contextNew: @convention(c) (UInt32) -> OpaquePointer?
    let contextFree: @convention(c) (OpaquePointer?) -> Void
    let outputSetFlags: @convention(c) (OpaquePointer?, UInt32) -> Void
    let bufferOutput: @convention(c) (OpaquePointer?) -> Int32
    let bufferError: @convention(c) (OpaquePointer?) -> Int32
    let outputBuffer: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let errorBuffer: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let runCommand: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32

    /// The library's soname (libnftables1 on Debian).
    static let libraryName = "libnftables.so.1"

    /// Loaded once per process, or the loader's reason.
    static let shared: Result<NftablesAPI, SharedLibraryError> = Result { () throws(SharedLibraryError) in
        try NftablesAPI(SharedLibrary(opening: libraryName))
    }

    private init(_ library: SharedLibrary) throws(SharedLibraryError) {
        contextNew = try library.function("nft_ctx_new")
        contextFree = try library.function("nft_ctx_free")
        outputSetFlags = try library.function("nft_ctx_output_set_flags")
        bufferOutput = try library.function("nft_ctx_buffer_output")
        bufferError = try library.function("nft_ctx_buffer_error")
        outputBuffer = try library.function("nft_ctx_get_output_buffer")
        errorBuffer = try library.function("nft_ctx_get_error_buffer")
        runCommand = try library.function("nft_run_cmd_from_buffer")
    }
}
