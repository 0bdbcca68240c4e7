import Foundation
import Logging
import SidetapCapture
import SidetapCore
import SidetapEvidence
import SidetapFlows
import SidetapLabels
import SidetapLibvirt
import SidetapPorts
import SidetapRing
import SidetapSelect

/// The one place that turns a configuration into a running pipeline: it opens the sources,
/// compiles every port's rules, builds the ports and their token buckets, and lays a ring
/// between every source and every port.
public enum EngineAssembly {
    /// What a run may change in the config: replay pacing, a clock for tests.
    public struct Overrides {
        /// Pace every source (`sidetap replay`); nil reads at top speed.
        public var pacing: ReplayPacing?
        public var timeSource: any TimeSource
        public var logger: Logger
        /// Text for pcapng section comments ("Sidetap <version>").
        public var version: String

        public init(pacing: ReplayPacing? = nil, timeSource: any TimeSource = SystemTimeSource.shared,
                    logger: Logger = Logger(label: "sidetap"), version: String = SidetapVersion.current) {
            self.pacing = pacing
            self.timeSource = timeSource
            self.logger = logger
            self.version = version
        }
    }

    /// Opens every source (reading a file's header, probing a live interface) and returns them
    /// in config order. Live sources report state changes (interface lost, waiting, capturing
    /// again) through `logger`.
    public static func openSources(_ config: SidetapConfig, logger: Logger = Logger(label: "sidetap")) throws(EngineError) -> [any PacketSource] {
        var sources: [any PacketSource] = []
        var problems: [String] = []
        for (i, s) in config.sources.enumerated() {
            do {
                if let guest = s.libvirt {
                    sources.append(try makeGuestSource(guest, config: s, sourceIndex: UInt16(i), excluded: portDevices(config), logger: logger))
                } else if let live = s.interface {
                    sources.append(try LiveInterfaceSource(settings: live, name: s.name, guest: s.guest, sourceIndex: UInt16(i),
                                                           events: liveEventLogger(logger)))
                } else {
                    sources.append(try FileSources.open(path: s.file, name: s.name, guest: s.guest, reader: s.reader, sourceIndex: UInt16(i)))
                }
            } catch {
                problems.append("\(s.location): source '\(s.name)': \(error)")
            }
        }
        guard problems.isEmpty else { throw EngineError(message: problems.joined(separator: "\n")) }
        return sources
    }

    /// A source that follows a libvirt guest's interfaces (looked up when it opens).
    /// Interfaces of the guest that a port writes to are never captured (`excluded`), as
    /// `checkOwnOutput` refuses for a fixed interface.
    static func makeGuestSource(_ guest: GuestSourceConfig, config: SourceConfig, sourceIndex: UInt16,
                                excluded: [String: String] = [:], logger: Logger) throws(LiveSourceError) -> GuestSource {
        try GuestSource(capture: guest.capture, name: config.name, guest: config.guest ?? guest.domain,
                        resolver: LibvirtGuestResolver(domain: guest.domain, uri: guest.uri),
                        resolveIntervalMilliseconds: guest.pollMilliseconds, sourceIndex: sourceIndex, excluded: excluded,
                        events: liveEventLogger(logger))
    }

    /// The interfaces and TAP devices that output ports write to, with the reason not to
    /// capture them.
    static func portDevices(_ config: SidetapConfig) -> [String: String] {
        var devices: [String: String] = [:]
        for port in config.ports {
            switch port.network {
            case .interface(let name)?, .tap(let name)?:
                devices[name] = "port '\(port.name)' writes to it: capturing it would take the port's own output in again"
            default:
                break
            }
        }
        return devices
    }

    /// Logs a live source's state changes: losing or waiting for an interface is a warning,
    /// capturing (again) is a notice.
    static func liveEventLogger(_ logger: Logger) -> @Sendable (LiveSourceEvent) -> Void {
        { event in
            let metadata: Logger.Metadata = ["sidetap.source": "\(event.source)", "sidetap.interface": "\(event.interface)"]
            switch event.kind {
            case .opened, .resolved: logger.notice("\(event)", metadata: metadata)
            case .waiting, .lost, .warning: logger.warning("\(event)", metadata: metadata)
            }
        }
    }

    /// Whether sources wait for a full port ring: `auto` waits only for files read at top
    /// speed; a live source never waits for a port (the kernel would drop instead), so any
    /// live source makes `auto` mean `drop`.
    public static func waitsWhenFull(_ overflow: EngineOptions.Overflow, paced: Bool, live: Bool) -> Bool {
        switch overflow {
        case .wait: true
        case .drop: false
        case .auto: !paced && !live
        }
    }

    /// Reads and compiles every port's rules file against the sources.
    public static func compileRules(_ config: SidetapConfig, sources: [SourceDescription]) throws(EngineError) -> CompiledRuleSet {
        var portRules: [PortRules] = []
        var problems: [String] = []
        for port in config.ports {
            guard let text = try? String(contentsOfFile: port.rules, encoding: .utf8) else {
                let reason = FileManager.default.fileExists(atPath: port.rules) ? "cannot be read" : "does not exist"
                problems.append("\(port.location): port '\(port.name)': rules file \(port.rules) \(reason)")
                continue
            }
            portRules.append(PortRules(name: port.name, rulesFile: port.rules, text: text,
                                       sample: port.sample, slice: port.slice, group: port.group))
        }
        guard problems.isEmpty else { throw EngineError(message: problems.joined(separator: "\n")) }
        do {
            return try CompiledRuleSet(ports: portRules, sources: sources)
        } catch {
            throw EngineError(message: "\(error)")
        }
    }

    /// Builds the port writer for one port's config.
    /// `waitForReaders` is the resolved overflow policy: when sources wait for full rings
    /// (offline), stream ports wait for slow readers too, so `sidetap run | tcpdump -r -`
    /// loses nothing.
    public static func makePort(_ port: PortConfig, config: SidetapConfig, overrides: Overrides,
                                waitForReaders: Bool = false) throws(EngineError) -> any SidetapCore.Port {
        if let target = port.network { return try makeNetworkPort(port, target) }
        switch port.kind {
        case .file:
            let settings = FilePortSettings(path: port.path!, format: port.format, precision: port.nanosecond ? .nano : .micro,
                                            rotation: port.rotate ?? FileRotation(), sectionComment: port.comment,
                                            provenance: provenance(of: port, config: config, version: overrides.version),
                                            manifest: port.manifest, timeSource: overrides.timeSource)
            return FilePort(name: port.name, settings: settings)
        case .stream:
            let settings = StreamPortSettings(path: port.path!, format: port.format, precision: port.nanosecond ? .nano : .micro,
                                              waitForReader: waitForReaders)
            return StreamPort(name: port.name, settings: settings)
        case .discard:
            return DiscardPort(name: port.name)
        case .socket:
            guard let target = port.socket else {
                throw EngineError(message: "\(port.location): port '\(port.name)': a socket port has no listen address")
            }
            let settings = SocketStreamPortSettings(listen: target.listen, format: port.format, precision: port.nanosecond ? .nano : .micro,
                                                    sectionComment: port.comment, maxReaders: target.maxReaders)
            return SocketStreamPort(name: port.name, settings: settings)
        case .interface, .tap, .vxlan, .gre, .erspan:
            throw EngineError(message: "\(port.location): port '\(port.name)': a \(port.kind.rawValue) port has no network target")
        }
    }

    /// What a file port records about its packets' origin: every source and its guest, the
    /// port, the version. `label` stays nil until labels are configured.
    /// With labels, `label` names each source's label and the port's clearance, e.g.
    /// "vnet0 PUBLIC, vnet1 SECRET FINANCE; clearance SECRET FINANCE".
    static func provenance(of port: PortConfig, config: SidetapConfig, version: String) -> CaptureProvenance {
        var guests: [String] = []
        for guest in config.sources.compactMap(\.guest) where !guests.contains(guest) { guests.append(guest) }
        var label: String?
        if let labels = config.labelAssignment {
            let sources = labels.sources.map { "\($0.name) \(labels.describe($0.label))" }.joined(separator: ", ")
            let clearance = labels.ports.first { $0.name == port.name }.map { labels.describe($0.clearance) } ?? labels.describe(labels.encodings.lowest)
            label = "\(sources); clearance \(clearance)"
        }
        return CaptureProvenance(port: port.name, sources: config.sources.map(\.name), guests: guests, label: label, version: version)
    }

    /// Builds an interface, TAP or tunnel port; a collector host name is resolved here.
    static func makeNetworkPort(_ port: PortConfig, _ target: NetworkTarget) throws(EngineError) -> any SidetapCore.Port {
        func resolve(_ collector: String) throws(EngineError) -> IPAddress {
            do {
                return try CollectorAddress.resolve(collector, port: port.name)
            } catch {
                throw EngineError(message: "\(port.location): \(error)")
            }
        }
        switch target {
        case .interface(let name):
            return InterfacePort(name: port.name, interface: name)
        case .tap(let device):
            return TapPort(name: port.name, device: device)
        case .vxlan(let collector, let destination, let vni, let sourcePort):
            let settings = VXLANPortSettings(collector: try resolve(collector), destinationPort: destination, vni: vni,
                                             sourcePort: sourcePort.map { .fixed($0) } ?? .flowHash)
            return VXLANPort(name: port.name, settings: settings)
        case .gre(let collector, let key, let sequence):
            return GREPort(name: port.name, settings: GREPortSettings(collector: try resolve(collector), key: key, sequenceNumbers: sequence))
        case .erspan(let collector, let session, let index):
            return ERSPANPort(name: port.name, settings: ERSPANPortSettings(collector: try resolve(collector), session: session, index: index))
        }
    }

    /// Refuses a source that captures an interface a port writes to: it would take the
    /// port's own output in again (a loop). `any` captures every interface.
    public static func checkOwnOutput(ports: [any SidetapCore.Port], sources: [SourceDescription]) throws(EngineError) {
        var problems: [String] = []
        for port in ports {
            guard let interface = port.egress?.interface else { continue }
            for source in sources where source.interface == interface || source.interface == "any" {
                problems.append("source '\(source.name)' captures \(source.interface == "any" ? "every interface" : "interface '\(interface)'"), "
                    + "which port '\(port.name)' writes to: it would capture the port's own output again")
            }
        }
        guard problems.isEmpty else { throw EngineError(message: problems.joined(separator: "\n")) }
    }

    /// The outer packets of every tunnel port, which sources drop before selection.
    public static func ownTraffic(_ ports: [any SidetapCore.Port]) -> [OwnTraffic] {
        var seen = Set<OwnTraffic>()
        let tunnels = ports.compactMap { $0.egress?.tunnel }.map(OwnTraffic.tunnel)
        let served = ports.compactMap { $0.egress?.served }.map(OwnTraffic.served)
        return (tunnels + served).filter { seen.insert($0).inserted }
    }

    /// The token bucket for a port's rate, or nil when it has none.
    public static func makeBucket(_ rate: RateConfig?, nowNanos: Int64) -> TokenBucket? {
        guard let rate else { return nil }
        return TokenBucket(packetsPerSecond: rate.packetsPerSecond, bitsPerSecond: rate.bitsPerSecond,
                           burstPackets: rate.burstPackets, burstBytes: rate.burstBytes, nowNanos: nowNanos)
    }

    /// Builds the whole engine; nothing runs until `Engine.start()`.
    public static func build(_ config: SidetapConfig, overrides: Overrides = Overrides()) throws(EngineError) -> Engine {
        var sources = try openSources(config, logger: overrides.logger)
        if let pacing = overrides.pacing {
            var paced: [any PacketSource] = []
            for source in sources {
                do {
                    paced.append(try PacedSource(source, pacing, timeSource: overrides.timeSource))
                } catch {
                    throw EngineError(message: "\(error)")
                }
            }
            sources = paced
        }
        for source in sources {
            do {
                try source.open()
            } catch {
                throw EngineError(message: "source '\(source.description.name)': \(error)")
            }
        }
        let descriptions = sources.map(\.description)
        let rules = try compileRules(config, sources: descriptions)

        let options = config.options
        let pacedOrLive = overrides.pacing.map { if case .topSpeed = $0 { false } else { true } } ?? false
        let waitWhenFull = waitsWhenFull(options.overflow, paced: pacedOrLive, live: config.sources.contains(where: \.isLive))
        // Lanes: lane[s][p], each with its own ring. Pointer-only rings when the source keeps
        // its bytes (mmap'ed file).
        var lanes: [[Lane]] = []
        for source in sources {
            let arena = source.bytesOutliveDelivery ? 0 : options.ringBytes
            lanes.append(config.ports.map { _ in Lane(ring: PacketRing(slots: options.ringSlots, arenaBytes: arena)) })
        }
        var ports: [any SidetapCore.Port] = []
        for port in config.ports { ports.append(try makePort(port, config: config, overrides: overrides, waitForReaders: waitWhenFull)) }
        try checkOwnOutput(ports: ports, sources: descriptions)
        let ownTraffic = ownTraffic(ports)
        let labels = config.labelAssignment
        let sourceWorkers = sources.enumerated().map { i, source in
            // A flow table for the control channel's cuts and flow listing (live sources by default).
            let flows = config.flows.tracks(live: config.sources[i].isLive)
                ? FlowTable(settings: config.flows.settings, source: source.description, sourceIndex: UInt16(i)) : nil
            let fanOut = FanOut(epoch: 0, selector: Selector(rules, flowCacheSize: options.flowCache), lanes: lanes[i], ownTraffic: ownTraffic,
                                labelGate: FanOut.gate(labels, sourceIndex: i, lanes: lanes[i]))
            return SourceWorker(index: UInt16(i), source: source, fanOut: fanOut, waitWhenFull: waitWhenFull, flows: flows)
        }
        let now = overrides.timeSource.monotonicNanos()
        let portWorkers = config.ports.enumerated().map { p, port in
            PortWorker(port: ports[p], config: port, lanes: lanes.map { $0[p] }, sources: descriptions,
                       bucket: makeBucket(port.rate, nowNanos: now), shapes: port.rate?.mode == .shape, timeSource: overrides.timeSource)
        }
        return Engine(config: config, sourceWorkers: sourceWorkers, portWorkers: portWorkers, overrides: overrides, waitWhenFull: waitWhenFull)
    }
}

/// Sidetap's version, for reports and pcapng section comments.
public enum SidetapVersion {
    public static let number = "0.1.0"
    public static let current = "Sidetap \(number)"
}
