import Foundation
import SidetapCapture
import SidetapCore
import Testing

/// The following logic of `GuestSource` with a scripted resolver and interfaces that do not
/// exist (each interface capture then just waits for its interface): no root, no network.
@Suite("Guest source: following the resolver's answers")
struct GuestSourceFollowTests {
    func make(_ resolver: ScriptedResolver, _ log: EventLog, excluded: [String: String] = [:]) throws -> GuestSource {
        try GuestSource(capture: LiveInterfaceSettings(interface: ""), name: "web", guest: "web01", resolver: resolver,
                        resolveIntervalMilliseconds: 20, sourceIndex: 5, excluded: excluded, events: log.handler)
    }

    /// Polls the source on this thread until `condition` holds (at most 20 s).
    func pump(_ source: GuestSource, until condition: () -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if condition() { return true }
            _ = try source.poll(limit: 16) { _ in }
        }
        return condition()
    }

    @Test func describesTheGuestWithoutAFixedInterface() throws {
        let source = try make(ScriptedResolver(.interfaces([])), EventLog())
        #expect(source.description.guest == "web01")
        #expect(source.description.interface == nil)
        #expect(source.description.linkType == .ethernet)
        #expect(source.description.origin == "guest web01 (scripted)")
        #expect(source.state == "not opened")
    }

    @Test func followsRestartsShutOffsFailuresAndReturns() throws {
        let resolver = ScriptedResolver(.interfaces(["stvirtxq3", "stvirtxq4", "stvirtxq3"]))
        let log = EventLog()
        let source = try make(resolver, log)
        try source.open()
        defer { source.close() }
        #expect(source.currentInterfaces == ["stvirtxq3", "stvirtxq4"])
        #expect(source.state == "guest web01: capturing stvirtxq3, stvirtxq4")
        #expect(log.messages(.resolved) == ["guest web01: capturing stvirtxq3, stvirtxq4"])
        #expect(source.changes == 0)

        // Restart: one interface renamed.
        resolver.set(.interfaces(["stvirtxq7", "stvirtxq4"]))
        #expect(try pump(source) { source.currentInterfaces == ["stvirtxq7", "stvirtxq4"] })
        #expect(log.messages(.resolved).last == "guest web01: capturing stvirtxq7, stvirtxq4 (closed stvirtxq3)")
        #expect(source.lastProblem == "guest web01 changed: now capturing stvirtxq7, stvirtxq4, no longer stvirtxq3")
        #expect(source.changes == 1)

        // The hypervisor cannot be asked: the captures stay.
        resolver.set(.failed("connect to qemu:///system: no socket"))
        #expect(try pump(source) { source.lastProblem == "guest web01 (scripted): connect to qemu:///system: no socket" })
        #expect(source.currentInterfaces == ["stvirtxq7", "stvirtxq4"])
        #expect(log.messages(.warning).contains("cannot look up guest web01 (scripted): connect to qemu:///system: no socket; still capturing stvirtxq7, stvirtxq4"))
        #expect(source.statistics.errors >= 1)

        // Shut off: everything closes.
        resolver.set(.unavailable("guest web01 is shut off"))
        #expect(try pump(source) { source.currentInterfaces.isEmpty })
        #expect(source.lastProblem == "guest web01 is shut off")
        #expect(source.state == "guest web01 is shut off")
        #expect(log.messages(.lost).last == "guest web01 is shut off; closed stvirtxq7, stvirtxq4")

        // Back with a new interface.
        resolver.set(.interfaces(["stvirtxq9"]))
        #expect(try pump(source) { source.currentInterfaces == ["stvirtxq9"] })
        #expect(source.lastProblem == "guest web01 changed: now capturing stvirtxq9")
        #expect(source.changes == 3)

        // Running without interfaces.
        resolver.set(.interfaces([]))
        #expect(try pump(source) { source.currentInterfaces.isEmpty })
        #expect(source.lastProblem == "guest web01 is running without an interface on this host")
        #expect(resolver.lookups >= 6)
    }

    @Test func aGuestThatIsDownWhenOpenedIsWaitedFor() throws {
        let resolver = ScriptedResolver(.unavailable("guest web01 is not defined on test:///x"))
        let log = EventLog()
        let source = try make(resolver, log)
        try source.open()
        defer { source.close() }
        #expect(source.currentInterfaces.isEmpty)
        #expect(source.lastProblem == "guest web01 is not defined on test:///x")
        #expect(log.messages(.waiting) == ["guest web01 is not defined on test:///x; waiting for it"])
        #expect(try source.poll(limit: 8) { _ in } == .idle)
        resolver.set(.interfaces(["stvirtxq1"]))
        #expect(try pump(source) { source.currentInterfaces == ["stvirtxq1"] })
    }

    @Test func stopEndsAWaitingPollAndCloseStopsFollowing() throws {
        let resolver = ScriptedResolver(.unavailable("guest web01 is shut off"))
        let source = try make(resolver, EventLog())
        try source.open()
        source.stop()
        #expect(try source.poll(limit: 8) { _ in } == .endOfInput)
        source.close()
        let before = resolver.lookups
        usleep(200_000)
        #expect(resolver.lookups == before)
    }

    @Test func excludedInterfacesAreNeverCaptured() throws {
        let resolver = ScriptedResolver(.unavailable("guest web01 is shut off"))
        let log = EventLog()
        let source = try make(resolver, log, excluded: ["stvirtxq5": "port 'out' writes to it"])
        try source.open()
        defer { source.close() }
        resolver.set(.interfaces(["stvirtxq5", "stvirtxq6"]))
        #expect(try pump(source) { source.currentInterfaces == ["stvirtxq6"] })
        #expect(log.messages(.warning).contains("guest web01's interface stvirtxq5 is not captured: port 'out' writes to it"))
    }

    @Test func anExcludedInterfaceAtOpenIsAnError() throws {
        let source = try make(ScriptedResolver(.interfaces(["stvirtxq5"])), EventLog(), excluded: ["stvirtxq5": "port 'out' writes to it"])
        #expect(throws: LiveSourceError.self) { try source.open() }
    }

    @Test func aFilterThatDoesNotCompileIsRefused() {
        var capture = LiveInterfaceSettings(interface: "")
        capture.filter = "tcp port"
        #expect(throws: LiveSourceError.self) {
            _ = try GuestSource(capture: capture, name: "web", guest: "web01", resolver: ScriptedResolver(.interfaces([])))
        }
    }
}
