import Foundation
import SidetapCapture
import SidetapLibvirt
import Testing

@Suite("libvirt: looking guests up through the test driver")
struct LibvirtResolverTests {
    @Test func theBuiltInTestHypervisorHasARunningDomain() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        #expect(try connection.domainNames() == ["test"])
        let snapshot = try #require(try connection.domain(named: "test"))
        #expect(snapshot.state == .running)
        #expect(snapshot.captureTargets == ["testnet0"])
        #expect(try connection.domain(named: "nope") == nil)
    }

    @Test func resolvesARunningGuestToItsTargetsInOrder() throws {
        let node = try TestHypervisor([
            .init(name: "web01", running: true, targets: ["stvirtA", "stvirtB", "stvirtA"]),
            .init(name: "db01", running: false, targets: ["stvirtC"]),
        ])
        let web = LibvirtGuestResolver(domain: "web01", uri: node.uri)
        #expect(web.resolve() == .interfaces(["stvirtA", "stvirtB"]))
        #expect(web.subject == "guest web01 on \(node.uri)")
        let db = LibvirtGuestResolver(domain: "db01", uri: node.uri)
        #expect(db.resolve() == .unavailable("guest db01 is shut off"))
        #expect(try db.lookup()?.state == .shutOff)
        let gone = LibvirtGuestResolver(domain: "mail01", uri: node.uri)
        #expect(gone.resolve() == .unavailable("guest mail01 is not defined on \(node.uri)"))
    }

    @Test func followsTheFileAsItChanges() throws {
        let node = try TestHypervisor([.init(name: "web01", running: true, targets: ["stvirtA"])])
        let resolver = LibvirtGuestResolver(domain: "web01", uri: node.uri)
        #expect(resolver.resolve() == .interfaces(["stvirtA"]))
        try node.write([.init(name: "web01", running: true, targets: ["stvirtB", "stvirtC"])])
        #expect(resolver.resolve() == .interfaces(["stvirtB", "stvirtC"]))
        try node.write([.init(name: "web01", running: false, targets: ["stvirtB"])])
        #expect(resolver.resolve() == .unavailable("guest web01 is shut off"))
        try node.write([])
        #expect(resolver.resolve() == .unavailable("guest web01 is not defined on \(node.uri)"))
        try node.write([.init(name: "web01", running: true, targets: [])])
        #expect(resolver.resolve() == .interfaces([]))
    }

    @Test func anUnreachableHypervisorIsAFailedLookupWithLibvirtsMessage() throws {
        let resolver = LibvirtGuestResolver(domain: "web01", uri: "test:///nonexistent/stvirt/node.xml")
        guard case .failed(let reason) = resolver.resolve() else {
            Issue.record("expected a failed lookup")
            return
        }
        #expect(reason.hasPrefix("connect to test:///nonexistent/stvirt/node.xml: "))
        #expect(reason.count > "connect to test:///nonexistent/stvirt/node.xml: ".count)
        #expect(throws: LibvirtError.self) { try LibvirtConnection(uri: "nosuchdriver:///x") }
    }

    @Test func aBrokenNodeFileIsAFailedLookup() throws {
        let node = try TestHypervisor([])
        try "<node><domain>".write(toFile: node.path, atomically: true, encoding: .utf8)
        let resolver = LibvirtGuestResolver(domain: "web01", uri: node.uri)
        guard case .failed = resolver.resolve() else {
            Issue.record("expected a failed lookup")
            return
        }
    }
}
