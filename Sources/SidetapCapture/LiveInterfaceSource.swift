import SidetapCore
import SidetapPcap
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A live network interface captured through libpcap: a guest's `vnetN`, a tap, a veth, a
/// bridge, or `any`.
///
/// **Direction.** With `direction: in` or `out` one handle captures with
/// `pcap_setdirection` (and the matching `inbound`/`outbound` kernel filter, so the other
/// direction is never copied) and every packet is stamped with that direction. With `both` on
/// a cooked (`any`) capture the Linux SLL header carries the direction and the decoder reads
/// it. With `both` on an Ethernet interface libpcap does not say per packet, so the source
/// opens two handles — one `in`, one `out`, each filtered in the kernel, the `buffer` split
/// between them — stamps each packet, and merges the two in timestamp order (`pcap_next_ex`
/// keeps each handle's head packet valid while the other is read). A packet is held until it
/// is older than the ring's hand-over latency, or until the other handle has an older one, so
/// the merge never reorders across directions.
///
/// **Interfaces that go away.** When the interface is deleted, moved or taken down (the socket
/// reports ENETDOWN, libpcap an error), the source records the problem (`lastProblem`,
/// `interfaceLosses`, a `.lost` event), closes its handles and re-opens the interface by name
/// with a backoff (250 ms doubling to 2 s by default) from inside `poll`, which keeps returning
/// `.idle`. Capture resumes when an interface of that name is up again, whatever its index.
/// An interface missing when the source is opened is handled the same way.
///
/// **Statistics.** `kernelDropped` and `interfaceDropped` are libpcap's `pcap_stats` (ps_drop,
/// ps_ifdrop), sampled on the polling thread every 250 ms and at close, summed over handles
/// and accumulated across re-opens.
///
/// Delivered bytes live in the kernel ring or in libpcap's copy and are valid only during the
/// delivery callback (`bytesOutliveDelivery` is false): the engine copies them.
public final class LiveInterfaceSource: PacketSource {
    public let description: SourceDescription
    public let settings: LiveInterfaceSettings
    /// Stamped into every delivered packet's `sourceIndex`.
    public let sourceIndex: UInt16
    /// True when `both` is captured with two handles (in and out) merged.
    public let splitsDirections: Bool
    public var bytesOutliveDelivery: Bool { false }

    private let events: (@Sendable (LiveSourceEvent) -> Void)?
    private let holdbackNanos: Int64

    // Capture state, touched only by the polling thread.
    private var captures: [LiveCapture] = []
    private var stamps: [PacketDirection] = []
    private var head0: CapturedPacket?
    private var head1: CapturedPacket?
    private var openedIndex: Int32 = 0
    private var everOpened = false
    private var backoff: ReopenBackoff
    private var nextAttemptNanos: Int64 = 0
    private var lastWaitingReason: String?
    /// Set while recovering from a loss: it stays the reported problem (more telling than
    /// "does not exist") until the capture runs again.
    private var lossReason: String?
    private var statisticsBase = LiveCapture.Statistics()
    private var statisticsCurrent = LiveCapture.Statistics()
    private var lastSampleNanos: Int64 = 0

    // Shared with other threads.
    private let wake = WakePipe()
    private let stopRequested = Atomic<Bool>(false)
    private let capturing = Atomic<Bool>(false)
    private let delivered = Counter()
    private let kernelDropped = Counter()
    private let interfaceDropped = Counter()
    private let losses = Counter()
    private let reopenCount = Counter()
    private let problem = Mutex<String?>(nil)

    static let pollMilliseconds = 100
    static let sampleNanos: Int64 = 250_000_000

    /// Prepares a live source. When the interface exists now, a short probe activation learns
    /// its link type and snapshot length exactly as the capture will; when it does not, the
    /// link type is assumed (Ethernet, or LINUX_SLL2 for `any`) and the source waits for it.
    /// Throws when capture is not permitted or the filter does not compile.
    public init(settings: LiveInterfaceSettings, name: String, guest: String? = nil, sourceIndex: UInt16 = 0,
                events: (@Sendable (LiveSourceEvent) -> Void)? = nil) throws(LiveSourceError) {
        let interface = settings.interface
        guard !interface.isEmpty, interface.utf8.count <= 15 || settings.isAny else {
            throw LiveSourceError(interface: interface, reason: "an interface name has 1 to 15 characters")
        }
        var linkType: LinkType = settings.isAny ? .linuxSLL2 : .ethernet
        var snaplen = settings.snaplen
        if case .present = InterfaceState.of(interface) {
            do {
                let probe = try Self.openCapture(settings, direction: .both, bufferBytes: 1 << 20, expected: nil)
                linkType = probe.linkType
                snaplen = probe.snaplen
                probe.close()
            } catch {
                switch error.kind {
                case .permissionDenied, .promiscuousPermissionDenied:
                    throw LiveSourceError(interface: interface, reason: error.message)
                default:
                    break   // down or gone again: decided when the source opens
                }
            }
        }
        if let filter = settings.filter {
            do {
                _ = try FilterProgram(expression: filter, linkType: linkType, snaplen: snaplen)
            } catch {
                throw LiveSourceError(interface: interface, reason: "filter '\(filter)' does not compile: \(error.message)")
            }
        }
        self.settings = settings
        self.sourceIndex = sourceIndex
        self.events = events
        self.splitsDirections = settings.direction == .both && linkType != .linuxSLL && linkType != .linuxSLL2
        self.description = SourceDescription(name: name, guest: guest, linkType: linkType, snaplen: snaplen,
                                             timestampDigits: 9, origin: "interface \(interface)",
                                             interface: interface)
        self.backoff = ReopenBackoff(initialMilliseconds: settings.reopenInitialMilliseconds,
                                     maximumMilliseconds: settings.reopenMaximumMilliseconds)
        // Immediate mode (TPACKET_V2) makes packets visible at once; TPACKET_V3 hands a block
        // over when it fills or when its retire timer (jiffy-grained) fires.
        self.holdbackNanos = settings.immediate ? 1_000_000 : Int64(2 * settings.blockTimeoutMilliseconds + 5) * 1_000_000
    }

    deinit { close() }

    /// Opens and configures one handle.
    static func openCapture(_ settings: LiveInterfaceSettings, direction: CaptureDirection, bufferBytes: Int,
                            expected: LinkType?) throws(PcapError) -> LiveCapture {
        var inactive = try InactiveLiveCapture(device: settings.interface)
        try inactive.setSnaplen(settings.snaplen)
        try inactive.setPromiscuous(settings.promiscuous && !settings.isAny)
        try inactive.setImmediateMode(settings.immediate)
        try inactive.setBufferSize(bufferBytes)
        try inactive.setTimeout(milliseconds: settings.blockTimeoutMilliseconds)
        try inactive.setNanosecondPrecision()
        let live = try inactive.activate()
        if settings.isAny, live.linkType != .linuxSLL2, live.availableLinkTypes.contains(.linuxSLL2) {
            try live.setLinkType(.linuxSLL2)
        }
        if let expected, live.linkType != expected {
            if live.availableLinkTypes.contains(expected) {
                try live.setLinkType(expected)
            } else {
                throw PcapError(operation: "open interface \(settings.interface)",
                                message: "it now gives link type \(live.linkType), but the source was set up for \(expected)")
            }
        }
        if direction != .both { try live.setDirection(direction) }
        // The user's filter through libpcap (which re-filters what the ring already holds),
        // then, for one direction, the same filter plus `inbound`/`outbound` attached to the
        // socket, so the kernel does not copy the other direction at all.
        if let filter = settings.filter { try live.setFilter(filter) }
        if let primitive = direction.filterPrimitive {
            try live.attachKernelFilter(settings.filter.map { "\(primitive) and (\($0))" } ?? primitive)
        }
        try live.setNonblocking(true)
        return live
    }

    /// Opens the interface. A missing or down interface is not an error: the source reports it
    /// and keeps trying from `poll`. Throws only for problems that waiting does not fix (no
    /// permission, a rejected setting on an interface that is up).
    public func open() throws {
        stopRequested.store(false, ordering: .releasing)
        guard captures.isEmpty else { return }
        do {
            try openCaptures()
        } catch {
            switch error.kind {
            case .permissionDenied, .promiscuousPermissionDenied:
                throw LiveSourceError(interface: settings.interface, reason: error.message)
            case .noSuchDevice, .interfaceNotUp, .interfaceLost:
                wait(because: reason(error))
            case .general:
                guard InterfaceState.of(settings.interface).isUp else {
                    wait(because: reason(error))
                    return
                }
                throw LiveSourceError(interface: settings.interface, reason: error.message)
            }
        }
    }

    private func reason(_ error: PcapError) -> String {
        switch error.kind {
        case .noSuchDevice: "interface \(settings.interface) does not exist"
        case .interfaceNotUp: "interface \(settings.interface) is down"
        default: error.description
        }
    }

    private func openCaptures() throws(PcapError) {
        let state = InterfaceState.of(settings.interface)
        guard case .present(let index, let up) = state else {
            throw PcapError(operation: "open interface \(settings.interface)", message: "no such interface", kind: .noSuchDevice)
        }
        guard up else {
            throw PcapError(operation: "open interface \(settings.interface)", message: "the interface is down", kind: .interfaceNotUp)
        }
        let expected = description.linkType
        var opened: [LiveCapture] = []
        var directions: [PacketDirection] = []
        if splitsDirections {
            let half = max(settings.bufferBytes / 2, 1 << 16)
            opened.append(try Self.openCapture(settings, direction: .in, bufferBytes: half, expected: expected))
            opened.append(try Self.openCapture(settings, direction: .out, bufferBytes: half, expected: expected))
            directions = [.inbound, .outbound]
        } else {
            opened.append(try Self.openCapture(settings, direction: settings.direction, bufferBytes: settings.bufferBytes, expected: expected))
            directions = [settings.direction == .in ? .inbound : settings.direction == .out ? .outbound : .unknown]
        }
        captures = opened
        stamps = directions
        openedIndex = index
        lastSampleNanos = Self.monotonicNanos()
        statisticsCurrent = LiveCapture.Statistics()
        capturing.store(true, ordering: .releasing)
        lastWaitingReason = nil
        lossReason = nil
        backoff.reset()
        let ring = opened[0].packetRingVersion.map { $0 == 2 ? "TPACKET_V3" : $0 == 1 ? "TPACKET_V2" : "TPACKET_V\($0 + 1)" } ?? "ring unknown"
        let how = splitsDirections ? "in and out on two handles" : settings.direction.rawValue
        if everOpened { reopenCount.add() }
        report(.opened, (everOpened ? "capturing again" : "capturing") + " (index \(index), \(description.linkType), \(how), \(ring))")
        everOpened = true
        for capture in opened {
            if let warning = capture.activationWarning { report(.warning, warning) }
        }
    }

    private func report(_ kind: LiveSourceEvent.Kind, _ message: String) {
        events?(LiveSourceEvent(kind: kind, source: description.name, interface: settings.interface, message: message))
    }

    /// Records why the source is not capturing and schedules the next attempt.
    private func wait(because reason: String) {
        if reason != lastWaitingReason {
            lastWaitingReason = reason
            if lossReason == nil { problem.withLock { $0 = reason } }
            report(.waiting, "\(reason); retrying")
        }
        nextAttemptNanos = Self.monotonicNanos() + Int64(backoff.nextDelay()) * 1_000_000
    }

    /// The running capture failed: fold its counters, close it, start re-opening.
    private func lose(_ detail: String) {
        let reason: String
        switch InterfaceState.of(settings.interface) {
        case .absent:
            reason = "interface \(settings.interface) was removed (\(detail))"
        case .present(let index, let up):
            if index != openedIndex {
                reason = "interface \(settings.interface) was replaced (index \(openedIndex) → \(index)) (\(detail))"
            } else if !up {
                reason = "interface \(settings.interface) went down (\(detail))"
            } else {
                reason = "capture on \(settings.interface) failed: \(detail)"
            }
        }
        closeCaptures()
        lossReason = reason
        losses.add()
        problem.withLock { $0 = reason }
        report(.lost, reason)
        lastWaitingReason = nil
        backoff.reset()
        nextAttemptNanos = Self.monotonicNanos() + Int64(backoff.nextDelay()) * 1_000_000
    }

    private func closeCaptures() {
        guard !captures.isEmpty else { return }
        sampleStatistics()
        statisticsBase.received &+= statisticsCurrent.received
        statisticsBase.dropped &+= statisticsCurrent.dropped
        statisticsBase.interfaceDropped &+= statisticsCurrent.interfaceDropped
        statisticsCurrent = LiveCapture.Statistics()
        head0 = nil
        head1 = nil
        for capture in captures { capture.close() }
        captures = []
        capturing.store(false, ordering: .releasing)
    }

    /// Reads pcap_stats of the open handles and publishes base + current.
    private func sampleStatistics() {
        var sum = LiveCapture.Statistics()
        var complete = true
        for capture in captures {
            guard let s = try? capture.statistics() else { complete = false; continue }
            sum.received &+= s.received
            sum.dropped &+= s.dropped
            sum.interfaceDropped &+= s.interfaceDropped
        }
        if complete { statisticsCurrent = sum }
        kernelDropped.publish(statisticsBase.dropped &+ statisticsCurrent.dropped)
        interfaceDropped.publish(statisticsBase.interfaceDropped &+ statisticsCurrent.interfaceDropped)
        lastSampleNanos = Self.monotonicNanos()
    }

    /// Delivers up to `limit` packets, waiting at most about 100 ms for them; `.idle` when none
    /// came (also while the interface is gone), `.endOfInput` only after `stop()`.
    public func poll(limit: Int, _ deliver: (CapturedPacket) -> Void) throws -> SourcePoll {
        poll(limit: limit, waitMilliseconds: Self.pollMilliseconds, deliver)
    }

    /// `poll` waiting at most `waitMilliseconds` (0: not at all); a `GuestSource` polls its
    /// interfaces this way after waiting on all of them at once (`selectableDescriptors`).
    func poll(limit: Int, waitMilliseconds: Int, _ deliver: (CapturedPacket) -> Void) -> SourcePoll {
        if stopRequested.load(ordering: .acquiring) { return .endOfInput }
        if captures.isEmpty {
            let now = Self.monotonicNanos()
            if now >= nextAttemptNanos {
                do {
                    try openCaptures()
                } catch {
                    wait(because: reason(error))
                }
            }
            if captures.isEmpty {
                let remaining = Int((nextAttemptNanos - Self.monotonicNanos()) / 1_000_000)
                let readiness = LiveCapture.wait(for: [], wakeDescriptor: wake.readDescriptor,
                                                 timeoutMilliseconds: min(max(remaining, 1), waitMilliseconds))
                if readiness.woken { wake.drain() }
                return stopRequested.load(ordering: .acquiring) ? .endOfInput : .idle
            }
        }
        var count = read(limit: limit, deliver)
        if count == 0 && !captures.isEmpty {
            var timeout = waitMilliseconds
            if let held = heldTimestamp, timeout > 0 {
                let age = Self.realtimeNanos() - held
                timeout = min(timeout, max(1, Int((holdbackNanos - age) / 1_000_000) + 1))
            }
            let readiness = LiveCapture.wait(for: captures, wakeDescriptor: wake.readDescriptor, timeoutMilliseconds: timeout)
            if readiness.woken { wake.drain() }
            if stopRequested.load(ordering: .acquiring) { return .endOfInput }
            if readiness.readable != 0 || heldTimestamp != nil {
                count = read(limit: limit - count, deliver)
            }
            if readiness.failed != 0 && !captures.isEmpty {
                let codes = captures.map { $0.takeSocketError() }
                let code = codes.first { $0 != 0 } ?? 0
                lose(code != 0 ? "\(SystemError.message(code)) (errno \(code))" : "the capture socket hung up")
            }
        }
        if !captures.isEmpty && Self.monotonicNanos() - lastSampleNanos >= Self.sampleNanos { sampleStatistics() }
        guard count > 0 else { return .idle }
        delivered.add(UInt64(count))
        return .delivered(count)
    }

    /// The descriptors that become readable when packets wait (none while the interface is
    /// being waited for); for a caller that waits on several sources at once.
    var selectableDescriptors: [Int32] { captures.map(\.selectableDescriptor) }

    /// How long a caller waiting on `selectableDescriptors` may sleep before this source needs
    /// a `poll` anyway: a held packet of the in/out merge, or the next re-open attempt.
    var pollDeadlineMilliseconds: Int {
        if captures.isEmpty {
            return min(Self.pollMilliseconds, max(1, Int((nextAttemptNanos - Self.monotonicNanos()) / 1_000_000) + 1))
        }
        guard let held = heldTimestamp else { return Self.pollMilliseconds }
        let age = Self.realtimeNanos() - held
        return min(Self.pollMilliseconds, max(1, Int((holdbackNanos - age) / 1_000_000) + 1))
    }

    private var heldTimestamp: Int64? {
        switch (head0, head1) {
        case (let a?, let b?): min(a.timestampNanos, b.timestampNanos)
        case (let a?, nil): a.timestampNanos
        case (nil, let b?): b.timestampNanos
        case (nil, nil): nil
        }
    }

    private func read(limit: Int, _ deliver: (CapturedPacket) -> Void) -> Int {
        guard !captures.isEmpty, limit > 0 else { return 0 }
        return splitsDirections ? readMerged(limit: limit, deliver) : readSingle(limit: limit, deliver)
    }

    private func readSingle(limit: Int, _ deliver: (CapturedPacket) -> Void) -> Int {
        let index = sourceIndex
        let stamp = stamps[0]
        switch captures[0].dispatch(limit: limit, { packet in
            var packet = packet
            packet.sourceIndex = index
            if stamp != .unknown { packet.direction = stamp }
            deliver(packet)
        }) {
        case .packets(let n):
            return n
        case .broken:
            return 0
        case .error(let message):
            lose(message)
            return 0
        }
    }

    /// Two-way merge of the in and out handles in timestamp order. A head packet is delivered
    /// when the other handle's head is later, or when it is older than the hand-over latency
    /// (so nothing earlier can still appear on the other handle).
    private func readMerged(limit: Int, _ deliver: (CapturedPacket) -> Void) -> Int {
        let now = Self.realtimeNanos()
        var count = 0
        var empty0 = false, empty1 = false
        while count < limit {
            if head0 == nil && !empty0 {
                switch captures[0].next() {
                case .packet(let p): head0 = p
                case .none, .broken: empty0 = true
                case .error(let message): lose(message); return count
                }
            }
            if head1 == nil && !empty1 {
                switch captures[1].next() {
                case .packet(let p): head1 = p
                case .none, .broken: empty1 = true
                case .error(let message): lose(message); return count
                }
            }
            var packet: CapturedPacket
            switch (head0, head1) {
            case (nil, nil):
                return count
            case (let a?, let b?):
                if a.timestampNanos <= b.timestampNanos {
                    packet = a; packet.direction = .inbound; head0 = nil
                } else {
                    packet = b; packet.direction = .outbound; head1 = nil
                }
            case (let a?, nil):
                guard releasable(a.timestampNanos, now: now) else { return count }
                packet = a; packet.direction = .inbound; head0 = nil
            case (nil, let b?):
                guard releasable(b.timestampNanos, now: now) else { return count }
                packet = b; packet.direction = .outbound; head1 = nil
            }
            packet.sourceIndex = sourceIndex
            deliver(packet)
            count += 1
        }
        return count
    }

    private func releasable(_ timestamp: Int64, now: Int64) -> Bool {
        now - timestamp >= holdbackNanos || timestamp - now > 1_000_000_000
    }

    /// Makes a waiting `poll` return at once and every later one return `.endOfInput`; safe
    /// from any thread. The releasing store pairs with the acquiring loads in `poll`.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake.signal()
    }

    /// Closes the handles (counters are kept); a later `open()` starts capturing again.
    public func close() {
        closeCaptures()
    }

    public var statistics: SourceStatistics {
        var statistics = SourceStatistics()
        statistics.delivered = delivered.value
        statistics.kernelDropped = kernelDropped.value
        statistics.interfaceDropped = interfaceDropped.value
        statistics.errors = losses.value
        return statistics
    }

    public var lastProblem: String? { problem.withLock { $0 } }

    /// True while the interface is open and being captured; false while the source waits for it.
    public var isCapturing: Bool { capturing.load(ordering: .acquiring) }

    /// How many times a running capture lost its interface.
    public var interfaceLosses: UInt64 { losses.value }

    /// How many times the source re-opened its interface after losing it or waiting for it.
    public var reopens: UInt64 { reopenCount.value }

    static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func realtimeNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
