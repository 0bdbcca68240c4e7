import Foundation
import SidetapCore
@testable import SidetapPcap
import SidetapTestKit
import Testing

/// The live handle layer on real interfaces: activation, errors, the ring libpcap picks,
/// direction, kernel filters, waits and kernel counters.
@Suite(.serialized) struct LiveCaptureTests {
    /// A guest namespace whose host-side veth is bridged to a peer namespace.
    final class Lab {
        let lab: NamespaceLab
        let guestHost: String
        init() throws {
            lab = try NamespaceLab()
            try lab.addNamespace("guest")
            try lab.addNamespace("peer")
            guestHost = lab.interface("g0")
            let peerHost = lab.interface("p0")
            try lab.addVeth("eth0", in: "guest", guestHost, in: nil)
            try lab.addVeth("eth0", in: "peer", peerHost, in: nil)
            try lab.addBridge(lab.interface("br"), members: [guestHost, peerHost])
            try lab.address("10.77.0.1/24", on: "eth0", in: "guest")
            try lab.address("10.77.0.2/24", on: "eth0", in: "peer")
        }
        func ping(_ count: Int) throws {
            let result = try lab.exec(in: "guest", ["ping", "-n", "-c", "\(count)", "-i", "0.05", "-W", "2", "10.77.0.2"])
            #expect(result.stdout.contains("\(count) received"), "\(result.stdout)\(result.stderr)")
        }
        deinit { lab.cleanup() }
    }

    func open(_ device: String, immediate: Bool = false) throws -> LiveCapture {
        var inactive = try InactiveLiveCapture(device: device)
        try inactive.setSnaplen(262_144)
        try inactive.setPromiscuous(false)
        try inactive.setImmediateMode(immediate)
        try inactive.setBufferSize(2 << 20)
        try inactive.setTimeout(milliseconds: 10)
        try inactive.setNanosecondPrecision()
        return try inactive.activate()
    }

    /// ICMP echo type of an IPv4-in-Ethernet packet, or nil.
    static func echoType(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        guard bytes.count >= 42, bytes[12] == 0x08, bytes[13] == 0, bytes[23] == 1, bytes[34] == 0 || bytes[34] == 8 else { return nil }
        return bytes[34]
    }

    @Test func aMissingInterfaceIsNamedAsSuch() throws {
        let inactive = try InactiveLiveCapture(device: "stnosuch0")
        do {
            _ = try inactive.activate()
            Issue.record("activation of a missing interface succeeded")
        } catch {
            #expect(error.kind == .noSuchDevice)
            #expect(error.description.contains("open interface stnosuch0: no such interface"), "\(error)")
        }
    }

    @Test func statusCodesBecomeClearMessages() {
        let denied = InactiveLiveCapture.activationError(status: -8, detail: "", device: "vnet0")
        #expect(denied.kind == .permissionDenied)
        #expect(denied.message.contains("CAP_NET_RAW"))
        let promiscuous = InactiveLiveCapture.activationError(status: -11, detail: "x", device: "vnet0")
        #expect(promiscuous.kind == .promiscuousPermissionDenied)
        #expect(promiscuous.message.contains("CAP_NET_ADMIN"))
        let down = InactiveLiveCapture.activationError(status: -9, detail: "", device: "vnet0")
        #expect(down.kind == .interfaceNotUp)
        #expect(down.description == "open interface vnet0: the interface is down (That device is not up)")
        #expect(InactiveLiveCapture.activationError(status: -1, detail: "boom", device: "x").message == "boom")
    }

    @Test func libpcapKeepsTPacketV3UnlessImmediate() throws {
        let lab = try Lab()
        let blocks = try open(lab.guestHost)
        #expect(blocks.packetRingVersion == 2, "TPACKET_V3")
        #expect(blocks.timestampDigits == 9)
        #expect(blocks.linkType == .ethernet)
        #expect(blocks.snaplen == 262_144)
        #expect(blocks.activationWarning == nil)
        let frames = try open(lab.guestHost, immediate: true)
        #expect(frames.packetRingVersion == 1, "immediate mode: TPACKET_V2")
        blocks.close()
        #expect(!blocks.isOpen)
        #expect(blocks.packetRingVersion == nil)
        if case .error = blocks.dispatch(limit: 1, { _ in }) {} else { Issue.record("dispatch on a closed capture") }
    }

    @Test func directionKernelFilterAndCounters() throws {
        let lab = try Lab()
        let inbound = try open(lab.guestHost)
        try inbound.setDirection(.in)
        #expect(try inbound.attachKernelFilter("inbound and icmp") > 0)
        try inbound.setNonblocking(true)
        let everything = try open(lab.guestHost)
        try everything.setFilter("icmp")
        try everything.setNonblocking(true)
        try lab.ping(5)
        usleep(100_000)

        var types: [UInt8] = []
        var timestamps: [Int64] = []
        while case .packets(let n) = inbound.dispatch(limit: 64, { packet in
            if let type = Self.echoType(packet.bytes) { types.append(type) }
            timestamps.append(packet.timestampNanos)
            #expect(packet.wireLength == UInt32(packet.bytes.count))
        }), n > 0 {}
        #expect(types == [8, 8, 8, 8, 8], "only echo requests are received by the guest's host veth")
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        #expect(timestamps.allSatisfy { abs(now - $0) < 10_000_000_000 })

        var all: [UInt8] = []
        while case .packets(let n) = everything.dispatch(limit: 3, { packet in
            if let type = Self.echoType(packet.bytes) { all.append(type) }
        }), n > 0 {}
        #expect(all == [8, 0, 8, 0, 8, 0, 8, 0, 8, 0])

        let counters = try everything.statistics()
        #expect(counters.received == 10)
        #expect(counters.dropped == 0)
        #expect(try inbound.statistics().received == 5)
    }

    @Test func badFiltersCarryLibpcapsMessage() throws {
        let lab = try Lab()
        let capture = try open(lab.guestHost)
        #expect(throws: PcapError.self) { try capture.setFilter("tcp port") }
        do {
            try capture.setFilter("host 999.1.1.1")
            Issue.record("a bad host address compiled")
        } catch {
            #expect(error.description.hasPrefix("compile filter 'host 999.1.1.1' for \(lab.guestHost): "))
            #expect(!error.message.isEmpty)
        }
        #expect(throws: PcapError.self) { try capture.setLinkType(.ipv6) }
        #expect(capture.availableLinkTypes.contains(.ethernet))
    }

    @Test func waitTimesOutWakesAndSeesPackets() throws {
        let lab = try Lab()
        let capture = try open(lab.guestHost, immediate: true)
        try capture.setFilter("icmp")
        try capture.setNonblocking(true)
        var started = Date()
        #expect(LiveCapture.wait(for: [capture], timeoutMilliseconds: 50).timedOut)
        #expect(Date().timeIntervalSince(started) >= 0.045)

        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var byte: UInt8 = 1
        #expect(write(fds[1], &byte, 1) == 1)
        started = Date()
        let woken = LiveCapture.wait(for: [capture], wakeDescriptor: fds[0], timeoutMilliseconds: 2000)
        #expect(woken.woken && woken.readable == 0)
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(read(fds[0], &byte, 1) == 1)

        try lab.ping(1)
        let ready = LiveCapture.wait(for: [capture], wakeDescriptor: fds[0], timeoutMilliseconds: 2000)
        #expect(ready.readable == 1 && !ready.woken && ready.failed == 0)
        #expect(capture.takeSocketError() == 0)
    }
}
