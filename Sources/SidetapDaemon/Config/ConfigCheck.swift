#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SidetapCapture
import SidetapCore
import SidetapLibvirt
import SidetapPcap
import SidetapPorts
import SidetapSelect

/// `sidetap check`: validates a config end to end without capturing — the YAML, every
/// source file, every rules file, every port's output — and renders a report.
public enum ConfigCheck {
    /// The verdict and the report text.
    public struct Report: Sendable {
        public var ok: Bool
        public var text: String
    }

    public static func run(path: String, verbose: Bool = false) -> Report {
        var lines: [String] = []
        var errors: [String] = []
        let config: SidetapConfig
        do {
            config = try SidetapConfig.load(path: path)
        } catch {
            return Report(ok: false, text: error.errors.map { "error: \($0)" }.joined(separator: "\n") + "\ncheck failed: \(error.errors.count) error(s)")
        }
        lines.append("config \(path): \(config.sources.count) source(s), \(config.ports.count) port(s)")

        var descriptions: [SourceDescription] = []
        var warnings: [String] = []
        do {
            let sources = try EngineAssembly.openSources(config)
            for (source, settings) in zip(sources, config.sources) {
                let d = source.description
                descriptions.append(d)
                if let guest = settings.libvirt {
                    let (line, warning) = describeGuest(d, guest)
                    lines.append(line)
                    if let warning { warnings.append("\(settings.location): source '\(settings.name)': \(warning)") }
                    source.close()
                    continue
                }
                if let live = settings.interface {
                    let (line, warning) = describeLive(d, live, source: source)
                    lines.append(line)
                    if let warning { warnings.append("\(settings.location): source '\(settings.name)': \(warning)") }
                    source.close()
                    continue
                }
                let reader = source.bytesOutliveDelivery ? "mmap" : "libpcap"
                lines.append("  ok   source \(d.name): \(settings.file) (\(d.linkType), snaplen \(d.snaplen), \(d.timestampDigits == 9 ? "ns" : "µs") timestamps, reader \(reader))"
                    + (d.guest.map { ", guest \($0)" } ?? ""))
                source.close()
            }
        } catch {
            errors.append(error.message)
        }

        if errors.isEmpty {
            do {
                let rules = try EngineAssembly.compileRules(config, sources: descriptions)
                for port in config.ports {
                    lines.append("  ok   rules \(port.name): \(port.rules)")
                }
                if verbose { lines.append(rules.report()) }
            } catch {
                errors.append(error.message)
            }
        }

        for port in config.ports {
            if let problem = probe(port, sources: descriptions) {
                errors.append("\(port.location): port '\(port.name)': \(problem)")
            } else {
                lines.append("  ok   port \(port.name): \(describe(port))")
            }
        }
        let labelled = LabelCheck.report(config)
        lines += labelled.lines
        warnings += labelled.warnings
        for warning in warnings { lines.append("warning: \(warning)") }
        for error in errors { lines.append("error: \(error)") }
        let noted = warnings.isEmpty ? "" : " (\(warnings.count) warning(s))"
        lines.append(errors.isEmpty ? "check passed\(noted)" : "check failed: \(errors.count) error(s)\(noted)")
        return Report(ok: errors.isEmpty, text: lines.joined(separator: "\n"))
    }

    /// The report line of an interface source and, when the interface is missing or down now,
    /// a warning: not an error, because the source waits for it and captures once it is up.
    static func describeLive(_ d: SourceDescription, _ live: LiveInterfaceSettings, source: any PacketSource) -> (String, String?) {
        let state = InterfaceState.of(live.interface)
        var parts = ["\(d.linkType)", "snaplen \(d.snaplen)", "direction \(live.direction.rawValue)"]
        if let split = (source as? LiveInterfaceSource)?.splitsDirections, split { parts[2] += " (in and out handles, merged)" }
        parts.append("buffer \(live.bufferBytes >> 20) MiB")
        parts.append(live.immediate ? "immediate (TPACKET_V2)" : "TPACKET_V3, \(live.blockTimeoutMilliseconds) ms blocks")
        if live.promiscuous && !live.isAny { parts.append("promiscuous") }
        if let filter = live.filter { parts.append("filter '\(filter)'") }
        if let guest = d.guest { parts.append("guest \(guest)") }
        let warning: String? = switch state {
        case .absent: "interface \(live.interface) does not exist now; the source will capture once it appears"
        case .present(_, false): "interface \(live.interface) is down now; the source will capture once it is up"
        case .present: nil
        }
        let mark = warning == nil ? "ok  " : "warn"
        return ("  \(mark) source \(d.name): interface \(live.interface), \(state) (" + parts.joined(separator: ", ") + ")", warning)
    }

    /// The report line of a guest source: the domain's state and current interfaces, looked
    /// up now. A guest that is down, not defined or cannot be looked up is a warning, not an
    /// error: the source follows it and captures once it runs.
    static func describeGuest(_ d: SourceDescription, _ guest: GuestSourceConfig) -> (String, String?) {
        let resolver = LibvirtGuestResolver(domain: guest.domain, uri: guest.uri)
        let live = guest.capture
        var parts = ["\(d.linkType)", "snaplen \(d.snaplen)", "direction \(live.direction.rawValue)", "buffer \(live.bufferBytes >> 20) MiB each"]
        parts.append(live.immediate ? "immediate (TPACKET_V2)" : "TPACKET_V3, \(live.blockTimeoutMilliseconds) ms blocks")
        if live.promiscuous { parts.append("promiscuous") }
        if let filter = live.filter { parts.append("filter '\(filter)'") }
        parts.append("looked up every \(Format.duration(Int64(guest.pollMilliseconds) * 1_000_000))")
        let subject = "guest \(guest.domain) on \(guest.uri)"
        let state: String
        var warning: String? = nil
        do {
            if let snapshot = try resolver.lookup() {
                let targets = snapshot.captureTargets
                if !snapshot.state.hasInterfaces {
                    state = "\(snapshot.state)"
                    warning = "\(subject) is \(snapshot.state) now; the source will capture its interfaces once it runs"
                } else if targets.isEmpty {
                    state = "\(snapshot.state), no interface with a host device"
                    warning = "\(subject) has no interface with a host device now; the source waits for one"
                } else {
                    state = "\(snapshot.state), interfaces " + targets.map { "\($0) (\(InterfaceState.of($0)))" }.joined(separator: ", ")
                }
            } else {
                state = "not defined"
                warning = "\(subject) is not defined now; the source will capture once it is defined and runs"
            }
        } catch {
            state = "not looked up"
            warning = "cannot look up \(subject) now (\(error)); the source keeps trying"
        }
        let mark = warning == nil ? "ok  " : "warn"
        return ("  \(mark) source \(d.name): \(subject), \(state) (" + parts.joined(separator: ", ") + ")", warning)
    }

    static func describe(_ port: PortConfig) -> String {
        var parts = [port.kind.rawValue]
        if let path = port.path { parts.append(path == "-" ? "standard output" : path) }
        if port.kind.writesCaptureFormat { parts.append(port.format.rawValue) }
        if let network = port.network { parts.append(describe(network)) }
        if let socket = port.socket { parts.append("listen \(socket.listen), at most \(socket.maxReaders) readers") }
        if let r = port.rotate {
            var rotate: [String] = []
            if let b = r.maxBytes { rotate.append("size \(b) B") }
            if let s = r.intervalSeconds { rotate.append("every \(s) s") }
            if let k = r.keep { rotate.append("keep \(k)") }
            parts.append("rotate " + rotate.joined(separator: ", "))
        }
        if let rate = port.rate {
            var r: [String] = []
            if let pps = rate.packetsPerSecond { r.append("\(Format.rate(pps))pps") }
            if let bps = rate.bitsPerSecond { r.append("\(Format.rate(bps))bit/s") }
            parts.append("rate " + r.joined(separator: " + "))
        }
        if let s = port.slice { parts.append("slice \(s)") }
        if let s = port.sample { parts.append("sample 1/\(s)") }
        if let g = port.group { parts.append("group \(g)") }
        return parts.joined(separator: ", ")
    }

    static func describe(_ target: NetworkTarget) -> String {
        switch target {
        case .interface(let name): "interface \(name)"
        case .tap(let device): "TAP device \(device)"
        case .vxlan(let collector, let port, let vni, let sourcePort):
            "to \(collector) udp \(port) vni \(vni), source port " + (sourcePort.map(String.init) ?? "from flow hash")
        case .gre(let collector, let key, let sequence):
            "to \(collector)" + (key.map { " key \($0)" } ?? "") + (sequence ? " with sequence numbers" : "")
        case .erspan(let collector, let session, let index):
            "to \(collector) session \(session)" + (index == 0 ? "" : " index \(index)")
        }
    }

    /// Checks that a port's output can be opened, without creating anything.
    static func probe(_ port: PortConfig, sources: [SourceDescription]) -> String? {
        if port.kind.writesCaptureFormat && port.format == .pcap {
            let types = Set(sources.map(\.linkType))
            if types.count > 1 {
                return "format pcap holds one link type, but the sources give \(types.map(\.description).sorted().joined(separator: ", ")); use format pcapng"
            }
        }
        guard let path = port.path, path != "-" else { return nil }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if port.kind == .stream {
            if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO else { return "\(path) exists and is not a named pipe" }
                return access(path, W_OK) == 0 ? nil : "\(path): no write permission"
            }
        } else if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "\(path) is a directory; 'path' names the capture file"
        }
        // The nearest existing ancestor must be a writable directory.
        var directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        while !fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) && directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        guard isDirectory.boolValue else { return "\(directory.path) is not a directory" }
        guard access(directory.path, W_OK | X_OK) == 0 else { return "directory \(directory.path) is not writable" }
        return nil
    }
}

extension SidetapConfig {
    /// The same config with one file source in place of its sources (`sidetap replay`).
    public func replacingSources(withFile file: String) -> SidetapConfig {
        var copy = self
        let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            .map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        copy.sources = [SourceConfig(name: String(name.prefix(64)).isEmpty ? "replay" : String(name.prefix(64)), file: absolute, guest: nil,
                                     reader: .auto, location: ConfigLocation(file: "<command line>", line: 0, column: 0))]
        return copy
    }
}
