import SidetapCore
import SidetapPcap
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A guest's network interfaces as one source: a resolver (libvirt, for `guest: web01`) names
/// the host interfaces the guest has now, and the source captures every one of them, labelling
/// each packet with the guest (`description.guest`) and the source's index.
///
/// **Following.** The resolver is asked when the source opens and then every
/// `resolveIntervalMilliseconds` on a background thread (a hypervisor lookup never stalls the
/// capture). When the answer changes — the guest restarted and `vnet3` became `vnet7`, it
/// migrated away or was shut off, it came back — the source closes the captures of interfaces
/// that are no longer the guest's and opens the new ones, reporting each change as an event
/// (`.resolved`, `.waiting`, `.warning`) and in `lastProblem`. A lookup that fails (the
/// hypervisor cannot be reached) leaves the captures as they are.
///
/// **Capturing.** Each interface is a `LiveInterfaceSource` with the same settings (snaplen,
/// buffer, promiscuous, direction, immediate, filter); they are driven from this source's
/// polling thread, which waits on all their descriptors at once with poll(2) and reads them
/// in turn. An interface that disappears on its own is re-opened by name as usual.
///
/// The description names no interface (`interface` is nil): which interfaces a packet came
/// from changes over time, so nothing may assume a fixed one (a connection reset needs one;
/// a block does not).
public final class GuestSource: PacketSource {
    public let description: SourceDescription
    /// Capture settings for every interface of the guest (their `interface` is ignored).
    public let capture: LiveInterfaceSettings
    public let resolver: any InterfaceResolver
    public let resolveIntervalMilliseconds: Int
    /// Stamped into every delivered packet's `sourceIndex`.
    public let sourceIndex: UInt16
    /// Interfaces never captured even when the guest has them, with the reason (an output
    /// port writes to it: capturing it would take the port's output in again).
    public let excluded: [String: String]
    public var bytesOutliveDelivery: Bool { false }

    private let events: (@Sendable (LiveSourceEvent) -> Void)?

    // Touched only by the polling thread (and `open`/`close`, which the same thread calls).
    private var children: [LiveInterfaceSource] = []
    private var refused: [String: String] = [:]
    private var applied: InterfaceResolution?
    private var appliedGeneration: UInt64 = 0
    private var loop: ResolverLoop?
    private var rotation = 0
    private var retired = SourceStatistics()
    private var lastSampleNanos: Int64 = 0

    // Shared with other threads.
    private let wake = WakePipe()
    private let stopRequested = Atomic<Bool>(false)
    private let delivered = Counter()
    private let kernelDropped = Counter()
    private let interfaceDropped = Counter()
    /// Failed lookups; `interfaceErrors` holds the interfaces' own (losses), published.
    private let errors = Counter()
    private let interfaceErrors = Counter()
    private let changeCount = Counter()
    private let problem = SharedNote()
    private let current = Mutex<[String]>([])
    private let stateText = Mutex<String>("not opened")

    /// Prepares a guest source; nothing is looked up until `open()`. Throws when the filter
    /// does not compile for Ethernet (every guest interface is an Ethernet tap or veth).
    public init(capture: LiveInterfaceSettings, name: String, guest: String, resolver: any InterfaceResolver,
                resolveIntervalMilliseconds: Int = 2000, sourceIndex: UInt16 = 0, excluded: [String: String] = [:],
                events: (@Sendable (LiveSourceEvent) -> Void)? = nil) throws(LiveSourceError) {
        if let filter = capture.filter {
            do {
                _ = try FilterProgram(expression: filter, linkType: .ethernet, snaplen: capture.snaplen)
            } catch {
                throw LiveSourceError(interface: "guest \(guest)", reason: "filter '\(filter)' does not compile: \(error.message)")
            }
        }
        self.capture = capture
        self.resolver = resolver
        self.resolveIntervalMilliseconds = max(10, resolveIntervalMilliseconds)
        self.sourceIndex = sourceIndex
        self.excluded = excluded
        self.events = events
        self.description = SourceDescription(name: name, guest: guest, linkType: .ethernet, snaplen: capture.snaplen,
                                             timestampDigits: 9, origin: resolver.subject, interface: nil)
    }

    deinit { close() }

    /// Looks the guest up, opens the captures of its interfaces and starts following it. A
    /// guest that is down is not an error (the source waits for it); an interface of a running
    /// guest that cannot be captured at all (no permission) is.
    public func open() throws {
        stopRequested.store(false, ordering: .releasing)
        guard loop == nil else { return }
        let first = resolver.resolve()
        apply(first)
        if let (interface, reason) = refused.sorted(by: { $0.key < $1.key }).first {
            closeChildren()
            throw LiveSourceError(interface: interface, reason: "guest \(description.guest ?? ""): \(reason)")
        }
        let loop = ResolverLoop(resolver: resolver, intervalMilliseconds: resolveIntervalMilliseconds, notify: wake)
        appliedGeneration = 0
        guard loop.start() else {
            closeChildren()
            throw LiveSourceError(interface: "guest \(description.guest ?? "")", reason: "cannot start the thread that follows the guest")
        }
        self.loop = loop
    }

    /// Delivers up to `limit` packets from the guest's interfaces, waiting at most about 100 ms;
    /// `.idle` when none came (also while the guest is down), `.endOfInput` only after `stop()`.
    public func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        if stopRequested.load(ordering: .acquiring) { return .endOfInput }
        takeResolution()
        var count = readChildren(limit: limit, deliver)
        if count == 0 {
            waitForChildren()
            if stopRequested.load(ordering: .acquiring) { return .endOfInput }
            takeResolution()
            count = readChildren(limit: limit, deliver)
        }
        if LiveInterfaceSource.monotonicNanos() - lastSampleNanos >= LiveInterfaceSource.sampleNanos { publishStatistics() }
        guard count > 0 else { return .idle }
        delivered.add(UInt64(count))
        return .delivered(count)
    }

    /// Applies the resolver's latest answer when there is a new one.
    private func takeResolution() {
        guard let loop else { return }
        let generation = loop.generation
        guard generation != appliedGeneration else { return }
        appliedGeneration = generation
        if let answer = loop.take() { apply(answer) }
    }

    /// Each interface in turn (starting one further each time, so none is always first), none
    /// of them waiting.
    private func readChildren(limit: Int, _ deliver: (CapturedPacket) -> Void) -> Int {
        let n = children.count
        guard n > 0 else { return 0 }
        var count = 0
        rotation = rotation &+ 1
        for i in 0..<n where count < limit {
            let child = children[(rotation + i) % n]
            if case .delivered(let k) = child.poll(limit: limit - count, waitMilliseconds: 0, deliver) { count += k }
        }
        return count
    }

    /// Sleeps until an interface has packets, the resolver answered, `stop()`, or the earliest
    /// moment an interface needs polling anyway (at most 100 ms).
    private func waitForChildren() {
        var descriptors: [Int32] = []
        var timeout = LiveInterfaceSource.pollMilliseconds
        for child in children {
            descriptors += child.selectableDescriptors
            timeout = min(timeout, child.pollDeadlineMilliseconds)
        }
        descriptors.append(wake.readDescriptor)
        var fds = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let ready = Glibc.poll(&fds, nfds_t(fds.count), Int32(clamping: timeout))
        if ready > 0, fds[fds.count - 1].revents != 0 { wake.drain() }
    }

    /// Makes the captured set match the answer, and says what changed.
    private func apply(_ answer: InterfaceResolution) {
        let changed = answer != applied
        let guest = description.guest ?? description.name
        switch answer {
        case .interfaces(let names):
            var wanted: [String] = []
            for name in names where !wanted.contains(name) { wanted.append(name) }
            let before = children.map(\.settings.interface)
            var closed: [String] = []
            children.removeAll { child in
                guard !wanted.contains(child.settings.interface) else { return false }
                retire(child)
                closed.append(child.settings.interface)
                return true
            }
            refused = refused.filter { wanted.contains($0.key) }
            var added: [String] = []
            for name in wanted where !children.contains(where: { $0.settings.interface == name }) && refused[name] == nil {
                do {
                    children.append(try makeChild(name))
                    added.append(name)
                } catch {
                    let reason = (error as? LiveSourceError)?.reason ?? "\(error)"
                    refused[name] = reason
                    report(.warning, interface: name, "guest \(guest)'s interface \(name) is not captured: \(reason)")
                }
            }
            children.sort { (wanted.firstIndex(of: $0.settings.interface) ?? 0) < (wanted.firstIndex(of: $1.settings.interface) ?? 0) }
            let now = children.map(\.settings.interface)
            current.withLock { $0 = now }
            let membershipChanged = !added.isEmpty || !closed.isEmpty
            if wanted.isEmpty {
                setState("guest \(guest) is running without an interface on this host")
                if !closed.isEmpty { changeCount.add() }
                if changed {
                    problem.set("guest \(guest) is running without an interface on this host")
                    let closing = closed.isEmpty ? "" : "; closed \(closed.joined(separator: ", "))"
                    report(.waiting, interface: "", "guest \(guest) is running but has no interface with a host device\(closing); waiting")
                }
            } else if changed || membershipChanged {
                let list = now.isEmpty ? "nothing" : now.joined(separator: ", ")
                setState("guest \(guest): capturing \(list)")
                var message = "capturing \(list)"
                if !closed.isEmpty { message += " (closed \(closed.joined(separator: ", ")))" }
                let wasDown: Bool = switch applied {
                case .unavailable?: true
                case .interfaces(let earlier)?: earlier.isEmpty
                default: false
                }
                if (membershipChanged && !before.isEmpty) || wasDown {
                    changeCount.add()
                    problem.set("guest \(guest) changed: now capturing \(list)" + (closed.isEmpty ? "" : ", no longer \(closed.joined(separator: ", "))"))
                }
                report(.resolved, interface: "", "guest \(guest): \(message)")
            }
        case .unavailable(let reason):
            if !children.isEmpty {
                let closed = children.map(\.settings.interface)
                closeChildren()
                changeCount.add()
                report(.lost, interface: "", "\(reason); closed \(closed.joined(separator: ", "))")
            } else if changed {
                report(.waiting, interface: "", "\(reason); waiting for it")
            }
            refused = [:]
            current.withLock { $0 = [] }
            setState(reason)
            if changed { problem.set(reason) }
        case .failed(let reason):
            errors.add()
            let list = children.map(\.settings.interface)
            let keeping = list.isEmpty ? "" : "; still capturing \(list.joined(separator: ", "))"
            if changed {
                problem.set("\(resolver.subject): \(reason)")
                report(.warning, interface: "", "cannot look up \(resolver.subject): \(reason)\(keeping)")
            }
        }
        applied = answer
        publishStatistics()
    }

    private func makeChild(_ interface: String) throws -> LiveInterfaceSource {
        if let reason = excluded[interface] { throw LiveSourceError(interface: interface, reason: reason) }
        var settings = capture
        settings.interface = interface
        let name = description.name
        let forward = events
        let problem = self.problem
        let child = try LiveInterfaceSource(settings: settings, name: name, guest: description.guest, sourceIndex: sourceIndex,
                                            events: { event in
                                                if event.kind == .waiting || event.kind == .lost { problem.set(event.message) }
                                                forward?(event)
                                            })
        guard child.description.linkType == description.linkType else {
            throw LiveSourceError(interface: interface, reason: "it gives link type \(child.description.linkType), but a guest source delivers \(description.linkType)")
        }
        try child.open()
        return child
    }

    /// Closes one interface's capture and keeps its counters.
    private func retire(_ child: LiveInterfaceSource) {
        child.close()
        let s = child.statistics
        retired.kernelDropped &+= s.kernelDropped
        retired.interfaceDropped &+= s.interfaceDropped
        retired.errors &+= s.errors
    }

    private func closeChildren() {
        for child in children { retire(child) }
        children = []
        current.withLock { $0 = [] }
        publishStatistics()
    }

    /// Publishes the sum of the closed and the open interfaces' counters.
    private func publishStatistics() {
        var sum = retired
        for child in children {
            let s = child.statistics
            sum.kernelDropped &+= s.kernelDropped
            sum.interfaceDropped &+= s.interfaceDropped
            sum.errors &+= s.errors
        }
        kernelDropped.publish(sum.kernelDropped)
        interfaceDropped.publish(sum.interfaceDropped)
        interfaceErrors.publish(sum.errors)
        lastSampleNanos = LiveInterfaceSource.monotonicNanos()
    }

    private func setState(_ text: String) { stateText.withLock { $0 = text } }

    private func report(_ kind: LiveSourceEvent.Kind, interface: String, _ message: String) {
        events?(LiveSourceEvent(kind: kind, source: description.name, interface: interface, message: message))
    }

    /// Makes a waiting `poll` return at once and every later one return `.endOfInput`; safe
    /// from any thread. The releasing store pairs with the acquiring loads in `poll`.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake.signal()
    }

    /// Stops following the guest and closes every capture (counters are kept); a later
    /// `open()` looks the guest up again.
    public func close() {
        loop?.stop()
        loop = nil
        applied = nil
        refused = [:]
        closeChildren()
    }

    public var statistics: SourceStatistics {
        var statistics = SourceStatistics()
        statistics.delivered = delivered.value
        statistics.kernelDropped = kernelDropped.value
        statistics.interfaceDropped = interfaceDropped.value
        statistics.errors = errors.value &+ interfaceErrors.value
        return statistics
    }

    /// The last change or problem: the guest shut off or gone, its interfaces changed, an
    /// interface lost, a failed lookup.
    public var lastProblem: String? { problem.text }

    /// The interfaces captured now (the guest's, in its order); empty while it is down.
    public var currentInterfaces: [String] { current.withLock { $0 } }

    /// The guest's state in words: "guest web01: capturing vnet7, vnet9", "guest web01 is shut off".
    public var state: String { stateText.withLock { $0 } }

    /// How many times the set of captured interfaces changed after the first capture (restarts,
    /// shut-offs, migrations, returns).
    public var changes: UInt64 { changeCount.value }

    /// Asks the background thread to look the guest up now rather than at the end of its
    /// interval (after a lifecycle notice, or in tests).
    public func resolveNow() { loop?.resolveNow() }
}

/// A piece of text written rarely by one thread and read by any (a source's last problem),
/// shareable with the closures of the interfaces' event handlers.
final class SharedNote: Sendable {
    private let value = Mutex<String?>(nil)

    func set(_ text: String?) { value.withLock { $0 = text } }

    var text: String? { value.withLock { $0 } }
}
