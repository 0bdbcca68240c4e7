import CNftables
import CSidetapLinux
import Foundation
import Synchronization

/// Sends nftables commands in-process through libnftables (the library the `nft` program is
/// built on; loaded on the first command, `NftablesAPI`): ruleset text is one atomic transaction, as with `nft -f`, and listings come back
/// as nft's JSON, as with `nft -j -n`. Nothing is executed: a child process would get no
/// capabilities after Sidetap's privilege drop (no ambient capabilities are kept), while this
/// process keeps CAP_NET_ADMIN when blocks are configured.
///
/// Inside a network namespace the command runs on a short-lived thread that has entered the
/// namespace (`setns` changes only the calling thread's namespace, and needs CAP_SYS_ADMIN).
/// A failure becomes `CutError.failed` carrying libnftables' own message.
struct NftablesCommand: Sendable {
    /// The network namespace to run in (a name under /run/netns), or nil for the caller's own.
    let namespace: String?

    /// The most ruleset text one call sends.
    static let maximumInput = 60_000

    /// libnftables keeps process-wide state (symbol tables, its parser): one call at a time.
    private static let serial = Mutex(())

    /// Applies ruleset text in one atomic transaction (`nft -f`).
    func apply(_ ruleset: String, operation: String) throws {
        _ = try run(ruleset, json: false, operation: operation)
    }

    /// Runs a listing command (`ARGUMENTS` as words, e.g. `list tables`) and returns nft's
    /// numeric JSON output (`nft -j -n`).
    func json(_ arguments: [String], operation: String) throws -> Data {
        try run(arguments.joined(separator: " "), json: true, operation: operation)
    }

    private func run(_ text: String, json: Bool, operation: String) throws -> Data {
        guard text.utf8.count <= Self.maximumInput else {
            throw CutError.failed(operation: operation, reason: "ruleset text of \(text.utf8.count) bytes exceeds \(Self.maximumInput)")
        }
        guard let namespace else {
            return try Self.serial.withLock { _ in try Self.execute(text, json: json, operation: operation).get() }
        }
        let path = "/run/netns/" + namespace
        guard FileManager.default.fileExists(atPath: path) else {
            throw CutError.failed(operation: operation, reason: "network namespace \(namespace) does not exist (no \(path))")
        }
        final class Outcome: @unchecked Sendable { var result: Result<Data, CutError>? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            if CSidetapLinux_enterNetworkNamespace(path) != 0 {
                outcome.result = .failure(CutError.failed(operation: operation, reason: "cannot enter network namespace \(namespace): \(String(cString: strerror(errno)))"))
            } else {
                outcome.result = Self.serial.withLock { _ in Self.execute(text, json: json, operation: operation) }
            }
            done.signal()
        }
        thread.name = "sidetap-nft"
        thread.start()
        done.wait()
        return try outcome.result!.get()
    }

    /// One libnftables call on the calling thread, in its network namespace.
    private static func execute(_ text: String, json: Bool, operation: String) -> Result<Data, CutError> {
        let api: NftablesAPI
        switch NftablesAPI.shared {
        case .success(let loaded): api = loaded
        case .failure(let error): return .failure(CutError.failed(operation: operation, reason: "\(error) (install libnftables1)"))
        }
        guard let context = api.contextNew(UInt32(NFT_CTX_DEFAULT)) else {
            return .failure(CutError.failed(operation: operation, reason: "libnftables could not create a context"))
        }
        defer { api.contextFree(context) }
        if json {
            api.outputSetFlags(context, UInt32(NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_ALL))
        }
        guard api.bufferOutput(context) == 0, api.bufferError(context) == 0 else {
            return .failure(CutError.failed(operation: operation, reason: "libnftables could not buffer its output"))
        }
        let status = api.runCommand(context, text)
        let output = api.outputBuffer(context).map { String(cString: $0) } ?? ""
        let errors = (api.errorBuffer(context).map { String(cString: $0) } ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0 else {
            return .failure(CutError.failed(operation: operation, reason: errors.isEmpty ? "libnftables failed (status \(status))" : "nftables: \(errors)"))
        }
        return .success(Data(output.utf8))
    }
}
