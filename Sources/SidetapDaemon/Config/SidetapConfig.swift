import Foundation
import SidetapCapture
import SidetapControl
import SidetapLabels
import SidetapPcap
import SidetapPorts
import Yams

/// The whole configuration: sources, ports and engine options, as read from one YAML file.
public struct SidetapConfig: Sendable {
    /// The file it came from ("<embedded default>" for the built-in job).
    public var file: String
    /// Directory relative paths are resolved against.
    public var baseDirectory: String
    public var sources: [SourceConfig]
    public var ports: [PortConfig]
    public var options: EngineOptions
    /// The control channel: appliance listener, audit log, cuts, appliances.
    public var control: ControlConfig
    /// The per-source flow tables.
    public var flows: FlowsConfig
    /// The label-encodings file (`labels:`); nil when nothing is labelled.
    public var labels: LabelsConfig?

    public init(file: String, baseDirectory: String, sources: [SourceConfig], ports: [PortConfig], options: EngineOptions,
                control: ControlConfig = ControlConfig(), flows: FlowsConfig = FlowsConfig(), labels: LabelsConfig? = nil) {
        self.labels = labels
        self.file = file
        self.baseDirectory = baseDirectory
        self.sources = sources
        self.ports = ports
        self.options = options
        self.control = control
        self.flows = flows
    }
}

/// Where in the config file an item was declared, for later error messages.
public struct ConfigLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var description: String { "\(file):\(line):\(column)" }
}

/// One packet source: a capture file (`file:`), a live interface (`interface:`), or a libvirt
/// guest's interfaces (`guest:` alone).
public struct SourceConfig: Sendable {
    public var name: String
    /// Capture file (pcap or pcapng), absolute; empty for an interface source.
    public var file: String
    public var guest: String?
    public var reader: FileReader
    public var location: ConfigLocation
    /// The live interface and its capture settings; nil for a file source.
    public var interface: LiveInterfaceSettings?
    /// The sensitivity label of the source's packets (`label:`); nil is the lowest label.
    public var label: Label?
    /// The address blocks the source's guest owns (`addresses:`): packets to or from them
    /// carry this source's label too.
    public var addresses: [AddressBlock]

    /// The libvirt guest this source follows; nil for file and interface sources.
    public var libvirt: GuestSourceConfig?

    public init(name: String, file: String, guest: String?, reader: FileReader, location: ConfigLocation,
                interface: LiveInterfaceSettings? = nil, label: Label? = nil, addresses: [AddressBlock] = [],
                libvirt: GuestSourceConfig? = nil) {
        self.label = label
        self.addresses = addresses
        self.name = name
        self.file = file
        self.guest = guest
        self.reader = reader
        self.location = location
        self.interface = interface
        self.libvirt = libvirt
    }

    /// True for a live source (an interface or a guest's interfaces).
    public var isLive: Bool { interface != nil || libvirt != nil }
}

/// The kinds of output port this build has.
public enum PortKind: String, Sendable, CaseIterable {
    case file, stream, discard
    /// A live capture stream served on a listening socket (SocketPortConfig.swift).
    case socket
    /// Network ports (NetworkPortConfig.swift): frames onto a NIC or a TAP device, or tunnelled.
    case interface, tap, vxlan, gre, erspan
}

/// One output port.
public struct PortConfig: Sendable {
    public var name: String
    public var kind: PortKind
    /// Rules file, absolute.
    public var rules: String
    /// Output path (file ports), "-" or a FIFO path (stream ports); nil for discard.
    public var path: String?
    public var format: CaptureFormat
    /// Nanosecond (true) or microsecond timestamps.
    public var nanosecond: Bool
    public var rotate: FileRotation?
    public var rate: RateConfig?
    public var slice: Int?
    public var sample: Int?
    public var group: String?
    /// pcapng section comment (file ports).
    public var comment: String?
    /// File ports: keep `<name>.manifest` (hash-chained file digests) beside the files (default on).
    public var manifest: Bool = true
    public var location: ConfigLocation
    /// Where a network port (interface, tap, vxlan, gre, erspan) sends its frames.
    public var network: NetworkTarget? = nil
    /// Where a socket port listens (SocketPortConfig.swift); nil for other kinds.
    public var socket: SocketPortTarget? = nil
    /// The port's clearance (`clearance:`); nil is the lowest label.
    public var clearance: Label? = nil
}

/// Token-bucket settings.
public struct RateConfig: Sendable, Equatable {
    /// What happens to a packet over the rate.
    public enum Mode: String, Sendable {
        /// Dropped and counted as `rate limit` (policing; the default).
        case police
        /// Held in the port's ring until the bucket allows it (shaping); the output is paced
        /// at the rate, and what does not fit in the ring is dropped as `ring full` (live) or
        /// holds the source back (offline).
        case shape
    }
    public var packetsPerSecond: Double?
    public var bitsPerSecond: Double?
    public var burstPackets: Int?
    public var burstBytes: Int?
    public var mode: Mode

    public init(packetsPerSecond: Double? = nil, bitsPerSecond: Double? = nil, burstPackets: Int? = nil, burstBytes: Int? = nil,
                mode: Mode = .police) {
        self.packetsPerSecond = packetsPerSecond
        self.bitsPerSecond = bitsPerSecond
        self.burstPackets = burstPackets
        self.burstBytes = burstBytes
        self.mode = mode
    }
}

/// Engine-wide options.
public struct EngineOptions: Sendable, Equatable {
    /// What a source does when a port's ring is full.
    public enum Overflow: String, Sendable {
        /// `wait` for file sources read at top speed (nothing is lost), `drop` otherwise.
        case auto
        /// The source waits for the slow port (offline processing; lossless).
        case wait
        /// The packet is dropped for that port and counted (live behaviour).
        case drop
    }
    /// Whether the terminal status line is shown.
    public enum Status: String, Sendable { case auto, on, off }
    /// Where the local control socket listens.
    public enum ControlSocketSetting: Sendable, Equatable {
        /// `ControlSocket.defaultPath()`.
        case automatic
        /// No control socket.
        case off
        case path(String)
    }

    public var ringSlots: Int = 65_536
    public var ringBytes: Int = 32 << 20
    public var flowCache: Int = 65_536
    public var overflow: Overflow = .auto
    public var status: Status = .auto
    public var controlSocket: ControlSocketSetting = .automatic
    public init() {}
}

extension SidetapConfig {
    /// Reads and validates a YAML config file.
    public static func load(path: String) throws(ConfigErrors) -> SidetapConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            var isDirectory: ObjCBool = false
            let reason = !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) ? "no such file"
                : isDirectory.boolValue ? "is a directory, not a config file"
                : access(path, R_OK) != 0 ? "permission denied" : "not readable as UTF-8 text"
            throw ConfigErrors([ConfigError(file: path, line: 0, column: 0, message: reason)])
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(text, file: path, baseDirectory: directory)
    }

    /// Parses YAML text; `baseDirectory` resolves relative paths; `rulesDirectory`, when set,
    /// resolves relative rules paths instead (the embedded default finds filters/ that way).
    public static func parse(_ text: String, file: String, baseDirectory: String, rulesDirectory: String? = nil) throws(ConfigErrors) -> SidetapConfig {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigErrors([ConfigError(file: file, line: 1, column: 1, message: "the file is empty; it needs 'sources' and 'ports'")])
            }
            root = node
        } catch let error as ConfigErrors {
            throw error
        } catch let error as YamlError {
            throw ConfigErrors([yamlError(error, file: file)])
        } catch {
            throw ConfigErrors([ConfigError(file: file, line: 0, column: 0, message: "YAML: \(error)")])
        }
        let parser = ConfigParser(file: file, base: baseDirectory, rulesBase: rulesDirectory ?? baseDirectory)
        return try parser.parse(ConfigNode(node: root, file: file))
    }

    static func yamlError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let where_ = context.map { "\($0.text) " } ?? ""
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "YAML: \(where_)\(problem)")
        case .composer(let context, let problem, let mark, _):
            let where_ = context.map { "\($0.text) " } ?? ""
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "YAML: \(where_)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigError(file: file, line: context.mark.line, column: context.mark.column, message: "duplicate key \(names) in a mapping")
        default:
            return ConfigError(file: file, line: 0, column: 0, message: "YAML: \(error)")
        }
    }
}

/// Turns the YAML tree into a `SidetapConfig`, collecting every error it can.
struct ConfigParser {
    let file: String
    let base: String
    let rulesBase: String
    /// The label encodings, once `labels:` has been read.
    var encodings: LabelEncodings?
    /// True when `labels:` is given but its file is invalid (already reported once).
    var labelsInvalid = false

    init(file: String, base: String, rulesBase: String) {
        self.file = file
        self.base = base
        self.rulesBase = rulesBase
    }

    func resolve(_ path: String, against directory: String) -> String {
        if path == "-" || path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: directory).appendingPathComponent(path).standardizedFileURL.path
    }

    func location(_ node: ConfigNode) -> ConfigLocation {
        ConfigLocation(file: file, line: node.line, column: node.column)
    }

    func parse(_ root: ConfigNode) throws(ConfigErrors) -> SidetapConfig {
        var errors: [ConfigError] = []
        func collect(_ body: () throws(ConfigError) -> Void) {
            do { try body() } catch { errors.append(error) }
        }
        let top: MappingReader
        do {
            top = try root.requireMapping("the config", keys: ["sources", "ports", "options", "control", "flows", "labels"])
        } catch {
            throw ConfigErrors([error])
        }
        var labels: LabelsConfig?
        if let node = top["labels"] { collect { () throws(ConfigError) in labels = try parseLabels(node) } }
        var parser = self
        parser.encodings = labels?.encodings
        parser.labelsInvalid = top["labels"] != nil && labels == nil
        return try parser.parseBody(top, labels: labels, errors: errors)
    }

    func parseBody(_ top: MappingReader, labels: LabelsConfig?, errors: [ConfigError]) throws(ConfigErrors) -> SidetapConfig {
        var errors = errors
        func collect(_ body: () throws(ConfigError) -> Void) {
            do { try body() } catch { errors.append(error) }
        }
        var options = EngineOptions()
        if let node = top["options"] { collect { () throws(ConfigError) in options = try parseOptions(node) } }
        var control = ControlConfig()
        if let node = top["control"] { collect { () throws(ConfigError) in control = try parseControl(node) } }
        var flows = FlowsConfig()
        if let node = top["flows"] { collect { () throws(ConfigError) in flows = try parseFlows(node) } }
        var sources: [SourceConfig] = []
        var ports: [PortConfig] = []
        do {
            for node in try top.require("sources").requireSequence("sources") {
                collect { () throws(ConfigError) in sources.append(try parseSource(node)) }
            }
        } catch { errors.append(error) }
        do {
            for node in try top.require("ports").requireSequence("ports") {
                collect { () throws(ConfigError) in ports.append(try parsePort(node)) }
            }
        } catch { errors.append(error) }
        checkUnique(sources.map { ($0.name, $0.location) }, what: "source", into: &errors)
        checkUnique(ports.map { ($0.name, $0.location) }, what: "port", into: &errors)
        checkAddressOverlaps(sources, into: &errors)
        if errors.isEmpty && sources.isEmpty { errors.append(top.owner.error("'sources' is empty: name at least one source")) }
        if errors.isEmpty && ports.isEmpty { errors.append(top.owner.error("'ports' is empty: name at least one port")) }
        if ports.count > 64 { errors.append(top.owner.error("at most 64 ports are supported, got \(ports.count)")) }
        if options.overflow == .wait, let live = sources.first(where: \.isLive) {
            errors.append(ConfigError(file: file, line: live.location.line, column: live.location.column,
                                      message: "options.overflow 'wait' would make interface source '\(live.name)' wait for a port; a live source must drop instead (use 'drop' or 'auto')"))
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return SidetapConfig(file: file, baseDirectory: base, sources: sources, ports: ports, options: options, control: control, flows: flows,
                             labels: labels)
    }

    func checkUnique(_ names: [(String, ConfigLocation)], what: String, into errors: inout [ConfigError]) {
        var seen: [String: ConfigLocation] = [:]
        for (name, location) in names {
            if let first = seen[name] {
                errors.append(ConfigError(file: file, line: location.line, column: location.column,
                                          message: "duplicate \(what) name '\(name)' (first declared at line \(first.line))"))
            } else {
                seen[name] = location
            }
        }
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    func name(_ node: ConfigNode, _ what: String) throws(ConfigError) -> String {
        let value = try node.requireString("\(what) name")
        guard Self.validName(value) else { throw node.error("\(what) name '\(value)' may hold only letters, digits, '-', '_' and '.' (at most 64)") }
        return value
    }

    static let liveSourceKeys = ["direction", "snaplen", "buffer", "promisc", "immediate", "filter"]

    func parseSource(_ node: ConfigNode) throws(ConfigError) -> SourceConfig {
        let m = try node.requireMapping("a source", keys: ["name", "file", "interface", "guest", "reader", "libvirt", "label", "addresses"] + Self.liveSourceKeys)
        var source = try parseSourceKind(node, m)
        if let l = m["label"] { source.label = try parseLabel(l, "label") }
        if let a = m["addresses"] { source.addresses = try parseAddresses(a) }
        return source
    }

    func parseSourceKind(_ node: ConfigNode, _ m: MappingReader) throws(ConfigError) -> SourceConfig {
        let name = try name(m.require("name"), "source")
        var guest: String? = nil
        if let g = m["guest"] { guest = try self.name(g, "guest") }
        if let l = m["libvirt"], m["file"] != nil || m["interface"] != nil || guest == nil {
            throw l.error("'libvirt' applies to a source that follows a guest ('guest' without 'file' or 'interface'); source '\(name)' does not")
        }
        switch (m["file"], m["interface"]) {
        case (nil, nil):
            guard let guest else {
                throw node.error("source '\(name)' needs 'file' (a capture file), 'interface' (a live interface) or 'guest' (a libvirt guest's interfaces)")
            }
            if let r = m["reader"] { throw r.error("'reader' applies to file sources only; source '\(name)' follows guest \(guest)") }
            return SourceConfig(name: name, file: "", guest: guest, reader: .auto, location: location(node),
                                libvirt: try parseGuestSource(guest: guest, m))
        case (_?, let interface?):
            throw interface.error("source '\(name)' has both 'file' and 'interface'; give exactly one")
        case (nil, let interface?):
            if let r = m["reader"] { throw r.error("'reader' applies to file sources only; source '\(name)' captures an interface") }
            let settings = try parseInterface(interface, m)
            return SourceConfig(name: name, file: "", guest: guest, reader: .auto, location: location(node), interface: settings)
        case (let fileNode?, nil):
            for key in Self.liveSourceKeys {
                if let extra = m[key] { throw extra.error("'\(key)' applies to interface sources only; source '\(name)' reads a file") }
            }
            return try parseFileSource(name: name, guest: guest, fileNode: fileNode, m, node)
        }
    }

    /// The live settings of an interface source: `interface` and the optional capture keys.
    func parseInterface(_ interfaceNode: ConfigNode, _ m: MappingReader) throws(ConfigError) -> LiveInterfaceSettings {
        let interface = try interfaceNode.requireString("interface")
        guard interface.utf8.count <= 15, !interface.contains("/"), !interface.contains(where: { $0 == " " || $0 == ":" }),
              interface != ".", interface != ".." else {
            throw interfaceNode.error("interface '\(interface)' is not a Linux interface name (1 to 15 characters, no '/', ':' or spaces), or 'any'")
        }
        return try parseLiveKeys(LiveInterfaceSettings(interface: interface), m)
    }

    /// The optional capture keys of a live source (direction, snaplen, buffer, promisc,
    /// immediate, filter) over `settings`.
    func parseLiveKeys(_ settings: LiveInterfaceSettings, _ m: MappingReader) throws(ConfigError) -> LiveInterfaceSettings {
        var settings = settings
        if let d = m["direction"] {
            settings.direction = try d.requireChoice("direction", CaptureDirection.allCases.map { ($0.rawValue, $0) })
        }
        if let n = m["snaplen"] { settings.snaplen = try n.requireInt("snaplen", range: 64...262_144) }
        if let b = m["buffer"] {
            guard let bytes = Quantities.bytes(b.string ?? ""), bytes >= 1 << 20, bytes <= 1 << 31 - 1 else {
                throw b.error("buffer must be a size between 1MiB and 2GiB such as 32MiB, got \(b.describe)")
            }
            settings.bufferBytes = bytes
        }
        if let p = m["promisc"] { settings.promiscuous = try p.requireChoice("promisc", [("true", true), ("false", false)]) }
        if let i = m["immediate"] { settings.immediate = try i.requireChoice("immediate", [("true", true), ("false", false)]) }
        if let f = m["filter"] { settings.filter = try f.requireString("filter") }
        return settings
    }

    func parseFileSource(name: String, guest: String?, fileNode: ConfigNode, _ m: MappingReader, _ node: ConfigNode) throws(ConfigError) -> SourceConfig {
        let path = resolve(try fileNode.requireString("file"), against: base)
        var reader = FileReader.auto
        if let r = m["reader"] {
            reader = try r.requireChoice("reader", [("auto", .auto), ("mmap", .mmap), ("libpcap", .libpcap)])
        }
        return SourceConfig(name: name, file: path, guest: guest, reader: reader, location: location(node))
    }

    func parsePort(_ node: ConfigNode) throws(ConfigError) -> PortConfig {
        let m = try node.requireMapping("a port", keys: [
            "name", "kind", "rules", "path", "format", "precision", "rotate", "rate", "slice", "sample", "group", "comment", "clearance",
            "manifest",
        ] + Self.networkKeys + Self.socketKeys)
        let name = try name(m.require("name"), "port")
        let kind: PortKind = try m.require("kind").requireChoice("kind", PortKind.allCases.map { ($0.rawValue, $0) })
        let rules = resolve(try m.require("rules").requireString("rules"), against: rulesBase)
        var path: String? = nil
        if let p = m["path"] { path = resolve(try p.requireString("path"), against: base) }
        switch kind {
        case .file:
            guard path != nil, path != "-" else { throw (m["path"] ?? node).error("a file port needs 'path', the capture file to write") }
        case .stream:
            guard path != nil else { throw node.error("a stream port needs 'path': '-' for standard output or a named pipe") }
        case .discard:
            if let p = m["path"] { throw p.error("a discard port writes nothing and takes no 'path'") }
        case .socket, .interface, .tap, .vxlan, .gre, .erspan:
            break
        }
        let network = try parseNetworkTarget(kind, m, node)
        let socket = try parseSocketTarget(kind, m, node)
        var format = CaptureFormat.pcap
        if let f = m["format"] {
            format = try f.requireChoice("format", CaptureFormat.allCases.map { ($0.rawValue, $0) })
        } else if let path, path.hasSuffix(".pcapng") {
            format = .pcapng
        }
        var nanosecond = true
        if let p = m["precision"] { nanosecond = try p.requireChoice("precision", [("nano", true), ("micro", false)]) }
        var rotate: FileRotation? = nil
        if let r = m["rotate"] {
            guard kind == .file else { throw r.error("only file ports rotate") }
            rotate = try parseRotate(r)
        }
        var rate: RateConfig? = nil
        if let r = m["rate"] { rate = try parseRate(r) }
        var slice: Int? = nil
        if let s = m["slice"] { slice = try s.requireInt("slice", range: 14...262_144) }
        var sample: Int? = nil
        if let s = m["sample"] { sample = try parseSample(s) }
        var group: String? = nil
        if let g = m["group"] { group = try self.name(g, "group") }
        var comment: String? = nil
        if let c = m["comment"] { comment = try c.requireString("comment") }
        var manifest = true
        if let n = m["manifest"] {
            guard kind == .file else { throw n.error("only file ports keep a manifest") }
            manifest = try n.requireChoice("manifest", [("on", true), ("off", false), ("true", true), ("false", false)])
        }
        var clearance: Label? = nil
        if let c = m["clearance"] { clearance = try parseLabel(c, "clearance") }
        return PortConfig(name: name, kind: kind, rules: rules, path: path, format: format, nanosecond: nanosecond,
                          rotate: rotate, rate: rate, slice: slice, sample: sample, group: group, comment: comment,
                          manifest: manifest, location: location(node), network: network, socket: socket, clearance: clearance)
    }

    /// `sample: 10` or `sample: 1/10` both keep one flow in ten.
    func parseSample(_ node: ConfigNode) throws(ConfigError) -> Int {
        let text = (node.string ?? "").trimmingSpaces
        let digits = text.hasPrefix("1/") ? String(text.dropFirst(2)) : text
        guard let n = Int(digits), n >= 1, n <= 1_000_000 else {
            throw node.error("sample must be N or 1/N with N between 1 and 1000000, got \(node.describe)")
        }
        return n
    }

    func parseRotate(_ node: ConfigNode) throws(ConfigError) -> FileRotation {
        let m = try node.requireMapping("rotate", keys: ["size", "every", "keep"])
        var config = FileRotation()
        if let s = m["size"] {
            guard let bytes = Quantities.bytes(s.string ?? ""), bytes >= 4096 else {
                throw s.error("rotate.size must be a size of at least 4KiB such as 100MiB, got \(s.describe)")
            }
            config.maxBytes = bytes
        }
        if let e = m["every"] {
            guard let seconds = Quantities.seconds(e.string ?? ""), seconds >= 1, seconds == seconds.rounded() else {
                throw e.error("rotate.every must be a whole number of seconds of at least 1s such as 60s, 15m, 1h, got \(e.describe)")
            }
            config.intervalSeconds = Int(seconds)
        }
        if let k = m["keep"] { config.keep = try k.requireInt("rotate.keep", range: 1...1_000_000) }
        guard config.maxBytes != nil || config.intervalSeconds != nil else {
            throw node.error("rotate needs 'size' and/or 'every'")
        }
        return config
    }

    func parseRate(_ node: ConfigNode) throws(ConfigError) -> RateConfig {
        let m = try node.requireMapping("rate", keys: ["pps", "bps", "mbps", "burst", "burst_bytes", "mode"])
        var config = RateConfig()
        if let p = m["pps"] {
            guard let value = Quantities.packetsPerSecond(p.string ?? "") else { throw p.error("rate.pps must be a positive number such as 10000 or 10k, got \(p.describe)") }
            config.packetsPerSecond = value
        }
        if let b = m["bps"] {
            guard let value = Quantities.bitsPerSecond(b.string ?? "") else { throw b.error("rate.bps must be a bit rate such as 50M or 1.5Gbps, got \(b.describe)") }
            config.bitsPerSecond = value
        }
        if let b = m["mbps"] {
            guard config.bitsPerSecond == nil else { throw b.error("give either rate.bps or rate.mbps, not both") }
            guard let value = Double((b.string ?? "").trimmingSpaces), value > 0 else { throw b.error("rate.mbps must be a positive number of megabits per second, got \(b.describe)") }
            config.bitsPerSecond = value * 1e6
        }
        if let b = m["burst"] { config.burstPackets = try b.requireInt("rate.burst (packets)", range: 1...100_000_000) }
        if let b = m["burst_bytes"] {
            guard let value = Quantities.bytes(b.string ?? ""), value >= 64 else { throw b.error("rate.burst_bytes must be a size of at least 64 bytes, got \(b.describe)") }
            config.burstBytes = value
        }
        if let mode = m["mode"] { config.mode = try mode.requireChoice("rate.mode", [("police", .police), ("shape", .shape)]) }
        guard config.packetsPerSecond != nil || config.bitsPerSecond != nil else { throw node.error("rate needs 'pps' and/or 'bps' (or 'mbps')") }
        if config.burstPackets != nil && config.packetsPerSecond == nil { throw node.error("rate.burst counts packets and needs rate.pps") }
        if config.burstBytes != nil && config.bitsPerSecond == nil { throw node.error("rate.burst_bytes needs rate.bps or rate.mbps") }
        return config
    }

    func parseOptions(_ node: ConfigNode) throws(ConfigError) -> EngineOptions {
        let m = try node.requireMapping("options", keys: ["ring_slots", "ring_bytes", "flow_cache", "overflow", "status", "control_socket"])
        var options = EngineOptions()
        if let n = m["ring_slots"] { options.ringSlots = try n.requireInt("ring_slots", range: 64...(1 << 24)) }
        if let n = m["ring_bytes"] {
            guard let value = Quantities.bytes(n.string ?? ""), value >= 1 << 16, value <= 1 << 34 else {
                throw n.error("ring_bytes must be a size between 64KiB and 16GiB, got \(n.describe)")
            }
            options.ringBytes = value
        }
        if let n = m["flow_cache"] { options.flowCache = try n.requireInt("flow_cache", range: 1024...(1 << 26)) }
        if let n = m["overflow"] { options.overflow = try n.requireChoice("overflow", [("auto", .auto), ("wait", .wait), ("drop", .drop)]) }
        if let n = m["status"] { options.status = try n.requireChoice("status", [("auto", .auto), ("on", .on), ("off", .off)]) }
        if let n = m["control_socket"] {
            let value = try n.requireString("control_socket")
            switch value {
            case "off": options.controlSocket = .off
            case "auto": options.controlSocket = .automatic
            default:
                guard value.utf8.count < 108 else { throw n.error("control_socket must be shorter than 108 bytes (a Unix socket path), got \(value.utf8.count)") }
                options.controlSocket = .path(resolve(value, against: base))
            }
        }
        return options
    }
}

extension EngineOptions {
    /// The control socket path to use, or nil when it is off.
    public var resolvedControlSocket: String? {
        switch controlSocket {
        case .automatic: ControlSocket.defaultPath()
        case .off: nil
        case .path(let path): path
        }
    }
}
