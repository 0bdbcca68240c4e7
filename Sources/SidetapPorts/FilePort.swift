#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SidetapCore
import SidetapEvidence

/// Writes packets to pcap or pcapng files, with optional rotation by size and time.
///
/// Each file is written as `.<name>.part` in its final directory and renamed to `<name>`
/// when finished, so a reader never sees half a file. Without rotation the final name is
/// exactly `settings.path`; with rotation files are named
/// `<stem>-<UTC yyyyMMdd'T'HHmmss>-<6-digit sequence><ext>` after their opening time.
///
/// The first file is opened by `open(sources:)`, so a bad path fails at start-up. After a
/// time boundary (`tick`) the next file is opened at the next packet, and a rotated file that
/// got no packet is deleted instead of renamed: rotation never leaves empty files. A failed
/// write(2) cuts the file back to its last complete record, so every file stays readable.
///
/// With `settings.manifest` the port keeps `<name>.manifest` in the files' directory
/// (`CaptureManifest`): the opening with its provenance, then, after each rename, the file's
/// name, first and last packet time, packet count, size and SHA-256 (hashed as it is written,
/// no second read), and a removal entry for each file keep-N deletes.
public final class FilePort: Port {
    public let name: String
    public let settings: FilePortSettings

    private let naming: FileNaming
    private let writer = BufferedWriter()
    private var framer: RecordFramer?
    private var header: [UInt8] = []
    private var phase = Phase.created

    // The file being written.
    private var fileIsOpen = false
    private var fileName = ""
    private var fileBytes = 0            // header and records, buffered or not
    private var filePackets = 0
    private var bufferedPackets = 0      // records in the buffer, not yet written
    private var durableBytes: Int64 = 0  // bytes in the file, ending on a record boundary
    private var fileEndNanos = Int64.max // the next rotation boundary
    private var nextSequence = 1
    private var openFailure: Int32 = 0   // errno of a failed lazy open; no retry before tick
    private var firstNanos: Int64 = 0    // first packet's timestamp in the file
    private var lastNanos: Int64 = 0     // last packet's timestamp in the file
    private var durableLastNanos: Int64 = 0 // last timestamp written out, for a cut-back file
    private var digestIsWhole = true     // the writer's digest covers exactly the file's bytes
    private var recorder: FileManifestRecorder?
    private let lost = Counter()
    private let finished = Counter()

    private enum Phase { case created, open, closed }

    public init(name: String, settings: FilePortSettings) {
        self.name = name
        self.settings = settings
        naming = FileNaming(path: settings.path)
    }

    /// Packets `write` accepted that never reached a file: a later write(2) failed and the
    /// file was cut back to its last complete record. (Packets whose `write` threw are the
    /// caller's to count.) Readable from any thread.
    public var lostPackets: UInt64 { lost.value }

    /// Files finished (renamed to their final name) so far. Readable from any thread.
    public var finishedFiles: UInt64 { finished.value }

    /// Path of the port's manifest, when it keeps one.
    public var manifestPath: String? { recorder?.path }

    /// Path of the file being written (its hidden `.part` name), or nil between files.
    public var currentTemporaryPath: String? {
        fileIsOpen ? naming.temporaryPath(fileName) : nil
    }

    public func open(sources: [SourceDescription]) throws {
        guard phase == .created else { throw PortSetupError.invalidSetting(port: name, reason: "opened twice") }
        try validateSettings()
        let provenance = settings.provenance ?? Self.provenance(port: name, sources: sources)
        let framer = try RecordFramer(
            port: name, format: settings.format, sources: sources,
            precision: settings.precision, sectionComment: settings.sectionComment,
            provenanceComment: settings.provenance?.comment)
        header = framer.fileHeader()
        guard header.count <= writer.capacity / 2 else {
            throw PortSetupError.invalidSetting(port: name, reason: "file header too large (\(header.count) bytes)")
        }
        self.framer = framer
        if !naming.directory.isEmpty { try FileSystem.makeDirectories(naming.directory) }
        if settings.manifest {
            recorder = try FileManifestRecorder(directory: naming.directory, port: name, provenance: provenance,
                                                format: settings.format, timeSource: settings.timeSource)
        }
        if settings.rotation.isEnabled {
            let sequences = try FileSystem.entries(of: naming.directory).compactMap(naming.sequence(ofRotatedName:))
            nextSequence = Self.sequence(after: sequences.max() ?? 0)
        }
        try openNextFile()
        phase = .open
    }

    public func write(_ packet: OutboundPacket) throws(PortWriteError) {
        guard phase == .open, let framer else { throw PortWriteError(code: EBADF, operation: "write") }
        guard let length = framer.recordLength(of: packet) else { throw PortWriteError(code: EINVAL, operation: "write") }
        guard length <= writer.capacity / 2 else { throw PortWriteError(code: EMSGSIZE, operation: "write") }
        if fileIsOpen {
            if fileEndNanos != .max, settings.timeSource.wallNanos() >= fileEndNanos {
                try finishFile()
            } else if let maxBytes = settings.rotation.maxBytes, filePackets > 0, fileBytes + length > maxBytes {
                try finishFile()
            }
        }
        if !fileIsOpen {
            guard openFailure == 0 else { throw PortWriteError(code: openFailure, operation: "open") }
            do {
                try openNextFile()
            } catch {
                openFailure = error.code
                throw PortWriteError(code: error.code, operation: "open")
            }
        }
        var destination = writer.reserve(length)
        if destination == nil {
            try drainFile()
            destination = writer.reserve(length)
        }
        guard let destination else { throw PortWriteError(code: ENOBUFS, operation: "write") }
        framer.writeRecord(packet, to: destination)
        writer.commit(length)
        if filePackets == 0 { firstNanos = packet.timestampNanos }
        lastNanos = packet.timestampNanos
        fileBytes += length
        filePackets += 1
        bufferedPackets += 1
    }

    public func flush() throws(PortWriteError) {
        guard fileIsOpen else { return }
        try drainFile()
    }

    public func tick(wallNanos: Int64) throws(PortWriteError) {
        openFailure = 0
        guard phase == .open, fileIsOpen, wallNanos >= fileEndNanos else { return }
        try finishFile()
    }

    public func close() throws {
        guard phase == .open else {
            phase = .closed
            return
        }
        phase = .closed
        let path = naming.finalPath(fileName)
        do {
            try finishFile()
        } catch {
            throw SystemError(code: error.code, operation: "finish capture file (\(error.operation))", path: path)
        }
    }

    // MARK: - Files

    private func validateSettings() throws(PortSetupError) {
        let rotation = settings.rotation
        func bad(_ reason: String) -> PortSetupError { .invalidSetting(port: name, reason: reason) }
        if naming.baseName.isEmpty || naming.baseName == "." || naming.baseName == ".." {
            throw bad("path '\(settings.path)' does not name a file")
        }
        if settings.manifest, name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw bad("a port with a manifest needs a name usable as a file name, got '\(name)'")
        }
        if let maxBytes = rotation.maxBytes, maxBytes <= 0 { throw bad("rotation size must be positive, got \(maxBytes)") }
        if let interval = rotation.intervalSeconds, interval <= 0 {
            throw bad("rotation interval must be a positive number of seconds, got \(interval)")
        }
        if let keep = rotation.keep {
            if keep <= 0 { throw bad("keep must be at least 1, got \(keep)") }
            if !rotation.isEnabled { throw bad("keep needs rotation by size or time") }
        }
    }

    /// Opens the next file under its temporary name and buffers the file header.
    private func openNextFile() throws(SystemError) {
        let now = settings.timeSource.wallNanos()
        var name = naming.baseName
        if settings.rotation.isEnabled {
            let stamp = FileSystem.utcStamp(wallNanos: now)
            for _ in 0...FileNaming.largestSequence {
                name = naming.rotatedName(stamp: stamp, sequence: nextSequence)
                nextSequence = Self.sequence(after: nextSequence)
                if !FileSystem.exists(naming.finalPath(name)), !FileSystem.exists(naming.temporaryPath(name)) { break }
            }
        }
        let temporary = naming.temporaryPath(name)
        let descriptor = FileSystem.openDescriptor(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o640)
        guard descriptor >= 0 else { throw SystemError(code: errno, operation: "open", path: temporary) }
        writer.attach(descriptor)
        writer.digest = recorder == nil ? nil : StreamingSHA256()
        digestIsWhole = true
        _ = writer.append(header)
        fileIsOpen = true
        fileName = name
        fileBytes = header.count
        filePackets = 0
        bufferedPackets = 0
        durableBytes = 0
        fileEndNanos = Self.boundary(after: now, intervalSeconds: settings.rotation.intervalSeconds)
    }

    /// Writes the buffer to the current file. On failure the file is cut back to its last
    /// complete record and the buffered records are counted as lost.
    private func drainFile() throws(PortWriteError) {
        do {
            _ = try writer.drain()
            durableBytes = writer.bytesWritten
            bufferedPackets = 0
            durableLastNanos = lastNanos
        } catch {
            let descriptor = writer.fileDescriptor
            _ = ftruncate(descriptor, off_t(durableBytes))
            _ = lseek(descriptor, off_t(durableBytes), SEEK_SET)
            lost.add(UInt64(bufferedPackets))
            filePackets -= bufferedPackets
            lastNanos = durableLastNanos
            digestIsWhole = false   // bytes hashed may have been cut off: hash the file at the end
            bufferedPackets = 0
            writer.discardPending()
            writer.resetBytesWritten(to: durableBytes)
            fileBytes = Int(durableBytes)
            if durableBytes == 0 {   // the header itself did not make it: start over
                _ = writer.append(header)
                fileBytes = header.count
            }
            throw error
        }
    }

    /// Flushes and closes the current file, then renames it to its final name (or deletes it,
    /// when rotating and it got no packet) and applies `keep`.
    private func finishFile() throws(PortWriteError) {
        guard fileIsOpen else { return }
        var failure: PortWriteError?
        do { try drainFile() } catch { failure = error }
        if !FileSystem.closeDescriptor(writer.fileDescriptor), failure == nil {
            failure = PortWriteError(code: errno, operation: "close")
        }
        writer.attach(-1)
        fileIsOpen = false
        let temporary = naming.temporaryPath(fileName)
        let final = naming.finalPath(fileName)
        if settings.rotation.isEnabled, filePackets == 0 {
            _ = unlink(temporary)
        } else {
            let replacing = recorder != nil && FileSystem.exists(final)
            if rename(temporary, final) != 0 {
                if failure == nil { failure = PortWriteError(code: errno, operation: "rename") }
            } else {
                finished.add()
                do throws(PortWriteError) {
                    if replacing { try recorder?.recordRemoval(of: fileName, reason: .replaced) }
                    try recordFinishedFile(at: final)
                } catch {
                    if failure == nil { failure = error }
                }
                settings.onFileFinished?(final)
                if let keep = settings.rotation.keep, let error = removeOldFiles(keeping: keep), failure == nil {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Appends the finished file's manifest entry (when the port keeps a manifest).
    private func recordFinishedFile(at final: String) throws(PortWriteError) {
        guard let recorder else { return }
        let digest = digestIsWhole ? writer.digest?.finalize() : nil
        writer.digest = nil
        try recorder.recordFinished(name: fileName, finalPath: final, digest: digest, bytes: durableBytes,
                                    packets: filePackets, firstNanos: firstNanos, lastNanos: lastNanos)
    }

    /// Deletes this port's oldest rotated files beyond `keep`; only names that match the
    /// port's strict rotated-name pattern are candidates. Each deletion is recorded in the
    /// manifest; returns the first manifest error.
    private func removeOldFiles(keeping keep: Int) -> PortWriteError? {
        guard let entries = try? FileSystem.entries(of: naming.directory) else { return nil }
        let ours = entries.filter { naming.sequence(ofRotatedName: $0) != nil }.sorted()
        guard ours.count > keep else { return nil }
        var failure: PortWriteError?
        for name in ours.prefix(ours.count - keep) where unlink(naming.finalPath(name)) == 0 {
            do throws(PortWriteError) {
                try recorder?.recordRemoval(of: name, reason: .rotation)
            } catch {
                if failure == nil { failure = error }
            }
        }
        return failure
    }

    /// The provenance when the settings give none: the sources and their guests, no label.
    static func provenance(port: String, sources: [SourceDescription]) -> CaptureProvenance {
        var guests: [String] = []
        for guest in sources.compactMap(\.guest) where !guests.contains(guest) { guests.append(guest) }
        return CaptureProvenance(port: port, sources: sources.map(\.name), guests: guests, version: PcapngFraming.applicationName)
    }

    static func sequence(after sequence: Int) -> Int {
        sequence >= FileNaming.largestSequence ? 1 : sequence + 1
    }

    /// The first multiple of the interval since the epoch after `nanos` (Int64.max: none).
    static func boundary(after nanos: Int64, intervalSeconds: Int?) -> Int64 {
        guard let intervalSeconds, intervalSeconds > 0 else { return .max }
        let interval = Int64(intervalSeconds) * 1_000_000_000
        var periods = nanos / interval
        if nanos % interval < 0 { periods -= 1 }
        return (periods + 1) * interval
    }
}
