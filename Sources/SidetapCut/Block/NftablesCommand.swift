import Foundation

/// Runs the `nft` program directly (no shell): ruleset text goes to `nft -f -` on standard
/// input, listings come back from `nft -j …` on standard output. Inside a network namespace
/// the program is `ip netns exec NAME nft …`. A failure becomes `CutError.failed` carrying
/// nft's own message.
struct NftablesCommand: Sendable {
    /// Path of the `nft` executable.
    let nftPath: String
    /// The network namespace to run in, or nil for the caller's own.
    let namespace: String?
    /// Seconds before a hung `nft` is terminated.
    let timeout: Double

    /// Where `nft` and `ip` are looked for when no path is given.
    static let nftCandidates = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"]
    static let ipCandidates = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]

    /// The most ruleset text one call sends (below the 64 KiB Linux pipe buffer).
    static let maximumInput = 60_000

    /// Finds `nft`, or throws a clear error when nftables is not installed.
    static func locateNft(_ explicit: String?) throws -> String {
        let candidates = explicit.map { [$0] } ?? nftCandidates
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CutError.failed(operation: "nft",
                                  reason: "nftables is not installed: no executable nft at \(candidates.joined(separator: ", "))")
        }
        return found
    }

    /// Applies ruleset text in one atomic transaction (`nft -f -`).
    func apply(_ ruleset: String, operation: String) throws {
        _ = try run(["-f", "-"], input: ruleset, operation: operation)
    }

    /// Runs `nft -j -n ARGUMENTS` and returns its JSON output.
    func json(_ arguments: [String], operation: String) throws -> Data {
        try run(["-j", "-n"] + arguments, input: nil, operation: operation)
    }

    private func run(_ arguments: [String], input: String?, operation: String) throws -> Data {
        let process = Process()
        if let namespace {
            guard let ip = Self.ipCandidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw CutError.failed(operation: operation, reason: "iproute2 (ip) is not installed, needed to enter namespace \(namespace)")
            }
            process.executableURL = URL(fileURLWithPath: ip)
            process.arguments = ["netns", "exec", namespace, nftPath] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: nftPath)
            process.arguments = arguments
        }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        // The whole input goes into the pipe before nft starts: it fits the pipe buffer (checked),
        // and no write can then meet a closed reader and raise SIGPIPE if nft exits early.
        let writer = stdin.fileHandleForWriting
        if let input {
            let bytes = Data(input.utf8)
            guard bytes.count <= Self.maximumInput else {
                throw CutError.failed(operation: operation, reason: "ruleset text of \(bytes.count) bytes exceeds \(Self.maximumInput)")
            }
            try? writer.write(contentsOf: bytes)
        }
        try? writer.close()
        do {
            try process.run()
        } catch {
            throw CutError.failed(operation: operation, reason: "cannot start \(nftPath): \(error)")
        }
        final class Collected: @unchecked Sendable { var data = Data() }
        let out = Collected(), err = Collected()
        let readers = DispatchGroup()
        readers.enter()
        DispatchQueue.global().async { out.data = stdout.fileHandleForReading.readDataToEndOfFile(); readers.leave() }
        readers.enter()
        DispatchQueue.global().async { err.data = stderr.fileHandleForReading.readDataToEndOfFile(); readers.leave() }

        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                timedOut = true
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        readers.wait()
        if timedOut {
            throw CutError.failed(operation: operation, reason: "nft did not finish within \(timeout) s")
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = String(decoding: err.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let status = process.terminationReason == .exit ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
            throw CutError.failed(operation: operation, reason: message.isEmpty ? "nft ended with \(status)" : "nft (\(status)): \(message)")
        }
        return out.data
    }
}
