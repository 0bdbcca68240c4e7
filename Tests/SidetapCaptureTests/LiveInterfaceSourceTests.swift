import Foundation
import SidetapCapture
import SidetapCore
import SidetapPcap
import SidetapTestKit
import Testing

/// Live capture on real interfaces: the host side of a guest's veth in a namespace lab.
@Suite(.serialized) struct LiveInterfaceSourceTests {
    static let guest = "10.77.0.1", peer = "10.77.0.2", second = "10.77.0.3"

    func source(_ lab: GuestLab, _ direction: CaptureDirection, on name: String = "guest", index: UInt16 = 0,
                events: EventLog? = nil, configure: (inout LiveInterfaceSettings) -> Void = { _ in }) throws -> LiveInterfaceSource {
        var settings = LiveInterfaceSettings(interface: lab.hostSide(name), direction: direction, bufferBytes: 4 << 20)
        configure(&settings)
        return try LiveInterfaceSource(settings: settings, name: "\(name)-\(direction.rawValue)", guest: name,
                                       sourceIndex: index, events: events?.handler)
    }

    @Test func pingIsCapturedExactlyWithItsDirection() throws {
        let lab = try GuestLab()
        let both = try SourceRunner(try source(lab, .both, index: 0))
        let inbound = try SourceRunner(try source(lab, .in, index: 1))
        let outbound = try SourceRunner(try source(lab, .out, index: 2))
        try lab.ping(from: "guest", to: "peer", count: 20)
        usleep(300_000)   // longer than the merge hold-back
        #expect(both.finish() && inbound.finish() && outbound.finish())
        for runner in [both, inbound, outbound] { #expect(runner.errors.isEmpty) }

        // Both directions: 20 requests received by the host veth, 20 replies sent, in order.
        let all = both.echoes(between: Self.guest, and: Self.peer)
        #expect(all.count == 40)
        #expect((both.source as? LiveInterfaceSource)?.splitsDirections == true)
        for (i, packet) in all.enumerated() {
            let echo = try #require(packet.icmpEcho)
            let request = i % 2 == 0
            #expect(echo.type == (request ? 8 : 0), "packet \(i) of the merged capture")
            #expect(echo.sequence == UInt16(i / 2 + 1))
            #expect(packet.direction == (request ? .inbound : .outbound))
            #expect(packet.sourceIndex == 0)
        }
        #expect(all.map(\.timestampNanos) == all.map(\.timestampNanos).sorted())

        let received = inbound.echoes(between: Self.guest, and: Self.peer)
        #expect(received.count == 20)
        #expect(received.allSatisfy { $0.icmpEcho?.type == 8 && $0.icmpEcho?.source == Self.guest && $0.direction == .inbound && $0.sourceIndex == 1 })
        let sent = outbound.echoes(between: Self.guest, and: Self.peer)
        #expect(sent.count == 20)
        #expect(sent.allSatisfy { $0.icmpEcho?.type == 0 && $0.icmpEcho?.source == Self.peer && $0.direction == .outbound && $0.sourceIndex == 2 })
        // The single-direction captures saw no packet of the other direction at all.
        #expect(inbound.packets.allSatisfy { $0.direction == .inbound })
        #expect(outbound.packets.allSatisfy { $0.direction == .outbound })
        // What each direction saw is what the merged capture saw.
        #expect(received.map(\.bytes) + sent.map(\.bytes) == all.filter { $0.direction == .inbound }.map(\.bytes) + all.filter { $0.direction == .outbound }.map(\.bytes))
    }

    @Test(arguments: [false, true])
    func bytesAndTimestampsEqualTcpdumps(immediate: Bool) throws {
        let lab = try GuestLab()
        let file = NSTemporaryDirectory() + "sidetap-live-\(lab.lab.prefix)-\(immediate).pcap"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let tcpdump = try TcpdumpCapture(interface: lab.hostSide("guest"), expression: "icmp", path: file)
        let runner = try SourceRunner(try source(lab, .both) { $0.immediate = immediate })
        try lab.ping(from: "guest", to: "peer", count: 10, size: 200)
        try lab.ping(from: "peer", to: "guest", count: 10, interval: "0.02")
        usleep(300_000)
        #expect(runner.finish())
        tcpdump.finish()

        let ours = runner.echoes(between: Self.guest, and: Self.peer)
        var theirs: [Recorded] = []
        let capture = try OfflineCapture(path: file)
        reading: while true {
            switch capture.next() {
            case .packet(let p):
                theirs.append(Recorded(bytes: Array(p.bytes), wireLength: p.wireLength, timestampNanos: p.timestampNanos, direction: .unknown, sourceIndex: 0))
            case .end: break reading
            case .error(let message): Issue.record("tcpdump's file: \(message)"); break reading
            }
        }
        capture.close()
        let theirEchoes = theirs.filter { $0.icmpEcho != nil }
        #expect(ours.count == 40)
        #expect(theirEchoes.count == 40)
        #expect(ours.map(\.bytes) == theirEchoes.map(\.bytes))
        #expect(ours.map(\.timestampNanos) == theirEchoes.map(\.timestampNanos))
        #expect(ours.map(\.wireLength) == theirEchoes.map(\.wireLength))
        // Nanosecond timestamps really carry sub-microsecond digits somewhere.
        #expect(ours.contains { $0.timestampNanos % 1000 != 0 })
    }

    @Test func anInterfaceThatDisappearsIsReopenedAndOthersKeepCapturing() throws {
        let lab = try GuestLab(guests: [("guest", Self.guest), ("peer", Self.peer), ("other", Self.second)])
        let events = EventLog()
        let watched = try source(lab, .in, events: events) { $0.reopenInitialMilliseconds = 100; $0.reopenMaximumMilliseconds = 400 }
        let runner = try SourceRunner(watched)
        let otherRunner = try SourceRunner(try source(lab, .in, on: "other", index: 1))
        #expect(watched.isCapturing)

        try lab.ping(from: "guest", to: "peer", count: 5)
        try lab.ping(from: "other", to: "peer", count: 5)
        #expect(eventually(2) { runner.echoes(between: Self.guest, and: Self.peer).count == 5 })

        // The guest "shuts down": its host veth disappears while the source polls.
        try lab.lab.deleteHostLink(lab.hostSide("guest"))
        #expect(eventually(3) { !watched.isCapturing && watched.interfaceLosses == 1 })
        // Deleting a veth takes it down and then removes it; which of the two the source sees
        // first depends on scheduling, and both are a correct report of the loss.
        let problem = watched.lastProblem ?? ""
        #expect(problem.contains("was removed") || problem.contains("went down"), "\(problem)")
        #expect(events.count(.lost) == 1)
        try lab.ping(from: "other", to: "peer", count: 5)
        usleep(500_000)   // several failed re-open attempts
        #expect(watched.reopens == 0)
        #expect(events.count(.waiting) == 1, "one report per outage, not per attempt: \(events.all)")

        // It comes back under the same name (a new index), is bridged again, and is captured.
        try lab.attach("guest", address: Self.guest)
        #expect(eventually(3) { watched.isCapturing })
        #expect(watched.reopens == 1)
        try lab.ping(from: "guest", to: "peer", count: 5)
        try lab.ping(from: "other", to: "peer", count: 5)
        usleep(200_000)
        #expect(runner.finish() && otherRunner.finish())

        #expect(runner.errors.isEmpty && otherRunner.errors.isEmpty)
        let requests = runner.echoes(between: Self.guest, and: Self.peer)
        #expect(requests.count == 10)
        #expect(requests.map { $0.icmpEcho!.sequence } == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
        #expect(otherRunner.echoes(between: Self.second, and: Self.peer).count == 15)
        #expect(watched.statistics.errors == 1)
        #expect(events.all.map(\.kind).filter { $0 != .warning } == [.opened, .lost, .waiting, .opened])
    }

    @Test func aMissingInterfaceIsWaitedForAndCapturedWhenItAppears() throws {
        let lab = try GuestLab(guests: [("peer", Self.peer)])
        let events = EventLog()
        let name = lab.lab.interface("gue0")
        var settings = LiveInterfaceSettings(interface: name, direction: .both, bufferBytes: 4 << 20)
        settings.reopenInitialMilliseconds = 100
        settings.reopenMaximumMilliseconds = 300
        let source = try LiveInterfaceSource(settings: settings, name: "late", events: events.handler)
        #expect(source.description.linkType == .ethernet)
        let runner = try SourceRunner(source)
        #expect(!source.isCapturing)
        #expect(source.lastProblem == "interface \(name) does not exist")
        usleep(300_000)
        #expect(runner.pollCount >= 2, "poll returns while it waits")
        try lab.attach("guest", address: Self.guest, createNamespace: true)
        #expect(eventually(3) { source.isCapturing })
        try lab.ping(from: "guest", to: "peer", count: 3)
        usleep(300_000)
        #expect(runner.finish())
        #expect(runner.errors.isEmpty)
        #expect(runner.echoes(between: Self.guest, and: Self.peer).count == 6)
    }

    @Test func kernelDropsComeFromPcapStats() throws {
        let lab = try GuestLab()
        // A tiny ring that is not read while a flood runs: the kernel must drop, and say so.
        let source = try source(lab, .in) { $0.bufferBytes = 1 << 16; $0.filter = "icmp" }
        try source.open()
        #expect(source.statistics.kernelDropped == 0)
        try lab.ping(from: "guest", to: "peer", count: 300, size: 1400, flood: true)
        var delivered = 0
        for _ in 0..<50 {
            let outcome = try source.poll(limit: 256) { _ in delivered += 1 }
            if outcome == .idle { break }
        }
        source.close()
        let statistics = source.statistics
        #expect(statistics.delivered == UInt64(delivered))
        #expect(statistics.kernelDropped > 0)
        // Every echo request passed the kernel filter and was either delivered or dropped.
        #expect(statistics.delivered + statistics.kernelDropped == 300, "\(statistics)")
        #expect(statistics.interfaceDropped >= 0)
    }

    @Test func stopWakesAWaitingPollPromptly() throws {
        let lab = try GuestLab()
        let source = try source(lab, .both)
        try source.open()
        defer { source.close() }
        let started = Date()
        #expect(try source.poll(limit: 8) { _ in } == .idle)
        #expect(Date().timeIntervalSince(started) < 0.5)
        nonisolated(unsafe) let shared = source
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.03) { shared.stop() }
        // Stray packets (IPv6 neighbour discovery in the lab) may end a poll early; the first
        // poll that starts after stop() or is waiting when it comes returns .endOfInput.
        let stopped = Date()
        var outcome = SourcePoll.idle
        while outcome != .endOfInput && Date().timeIntervalSince(stopped) < 1 {
            outcome = try source.poll(limit: 8) { _ in }
        }
        #expect(outcome == .endOfInput)
        #expect(Date().timeIntervalSince(stopped) < 0.09, "a 100 ms wait was cut short by stop()")
    }

    @Test func settingsThatCannotWorkAreRefused() throws {
        #expect(throws: LiveSourceError.self) {
            _ = try LiveInterfaceSource(settings: LiveInterfaceSettings(interface: "lo", filter: "tcp port"), name: "bad")
        }
        #expect(throws: LiveSourceError.self) {
            _ = try LiveInterfaceSource(settings: LiveInterfaceSettings(interface: "a-name-longer-than-15"), name: "bad")
        }
        let any = try LiveInterfaceSource(settings: LiveInterfaceSettings(interface: "any"), name: "all")
        #expect(any.description.linkType == .linuxSLL2)
        #expect(!any.splitsDirections, "cooked captures carry the direction in their header")
    }

    @Test func backoffDoublesToItsMaximum() {
        var backoff = ReopenBackoff(initialMilliseconds: 250, maximumMilliseconds: 2000)
        #expect((0..<6).map { _ in backoff.nextDelay() } == [250, 500, 1000, 2000, 2000, 2000])
        backoff.reset()
        #expect(backoff.nextDelay() == 250)
    }
}
