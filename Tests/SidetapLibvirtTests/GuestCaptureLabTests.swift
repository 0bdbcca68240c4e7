import Foundation
import SidetapTestKit
import SidetapCapture
import SidetapCore
import SidetapLibvirt
import Testing

/// End to end through libvirt's test driver: a node file of the test's own says which host
/// interface the domain web01 has, the guest source captures real pings on it, and rewriting
/// the file moves, stops and restarts the capture. Needs root (network namespaces).
@Suite("Guest source: real traffic on a libvirt test-driver guest", .serialized)
struct GuestCaptureLabTests {
    @Test func capturesAndFollowsTheGuestAcrossRestartShutOffAndReturn() throws {
        let lab = try VirtLab(tag: "c")
        defer { lab.cleanup() }
        let node = try TestHypervisor([.init(name: "web01", running: true, targets: [lab.a]),
                                       .init(name: "db01", running: true, targets: [lab.peer])])
        let log = EventLog()
        let source = try GuestSource(capture: LiveInterfaceSettings(interface: "", immediate: true), name: "web", guest: "web01",
                                     resolver: LibvirtGuestResolver(domain: "web01", uri: node.uri),
                                     resolveIntervalMilliseconds: 200, sourceIndex: 3, events: log.handler)
        #expect(source.description.guest == "web01")
        try source.open()
        #expect(source.currentInterfaces == [lab.a])
        let recorder = EchoRecorder(source)
        defer { recorder.finish() }
        let g1 = VirtLab.addresses["g1"]!, g2 = VirtLab.addresses["g2"]!

        // 1. web01 is behind A: g1's pings are captured, labelled with the source's index.
        try lab.ping(from: "g1", count: 5)
        #expect(eventually(10) { recorder.count(from: g1) >= 10 })
        #expect(recorder.all.allSatisfy { $0.sourceIndex == 3 })
        try lab.ping(from: "g2", count: 3)
        usleep(300_000)
        #expect(recorder.count(from: g2) == 0)

        // 2. web01 "restarts" with its interface on B: B is captured, A no longer.
        try node.write([.init(name: "web01", running: true, targets: [lab.b]), .init(name: "db01", running: true, targets: [lab.peer])])
        #expect(eventually(20) { source.currentInterfaces == [lab.b] })
        recorder.reset()
        try lab.ping(from: "g1", count: 5)
        try lab.ping(from: "g2", count: 5)
        #expect(eventually(10) { recorder.count(from: g2) >= 10 })
        usleep(300_000)
        #expect(recorder.count(from: g1) == 0)
        #expect(source.lastProblem == "guest web01 changed: now capturing \(lab.b), no longer \(lab.a)")
        #expect(log.messages(.resolved).contains("guest web01: capturing \(lab.b) (closed \(lab.a))"))

        // 3. Shut off: reported, nothing captured, no crash.
        try node.write([.init(name: "web01", running: false, targets: [lab.b]), .init(name: "db01", running: true, targets: [lab.peer])])
        #expect(eventually(20) { source.currentInterfaces.isEmpty })
        #expect(source.lastProblem == "guest web01 is shut off")
        recorder.reset()
        try lab.ping(from: "g2", count: 3)
        usleep(300_000)
        #expect(recorder.all.isEmpty)

        // 4. Migrated away: the domain is gone from this hypervisor.
        try node.write([.init(name: "db01", running: true, targets: [lab.peer])])
        #expect(eventually(20) { source.lastProblem == "guest web01 is not defined on \(node.uri)" })

        // 5. Back, with two interfaces: both are captured.
        try node.write([.init(name: "web01", running: true, targets: [lab.a, lab.b])])
        #expect(eventually(20) { source.currentInterfaces == [lab.a, lab.b] })
        recorder.reset()
        try lab.ping(from: "g1", count: 4)
        try lab.ping(from: "g2", count: 4)
        #expect(eventually(10) { recorder.count(from: g1) >= 8 && recorder.count(from: g2) >= 8 })
        #expect(source.changes == 3)

        #expect(recorder.finish())
        #expect(recorder.errors.isEmpty)
        source.close()
        #expect(source.statistics.delivered > 0)
    }
}
