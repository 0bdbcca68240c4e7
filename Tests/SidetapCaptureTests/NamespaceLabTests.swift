import Foundation
import SidetapTestKit
import Testing

/// The namespace lab the live tests build on: a guest and a peer namespace joined through a
/// bridge on the host, real traffic between them, and nothing left behind.
@Suite(.serialized) struct NamespaceLabTests {
    @Test func guestAndPeerTalkAcrossAHostBridgeAndCleanupRemovesEverything() throws {
        let lab = try NamespaceLab()
        let prefix = lab.prefix
        try lab.addNamespace("guest")
        try lab.addNamespace("peer")
        let guestHost = lab.interface("g0"), peerHost = lab.interface("p0"), bridge = lab.interface("br")
        try lab.addVeth("eth0", in: "guest", guestHost, in: nil)
        try lab.addVeth("eth0", in: "peer", peerHost, in: nil)
        try lab.addBridge(bridge, members: [guestHost, peerHost])
        try lab.address("10.77.0.1/24", on: "eth0", in: "guest")
        try lab.address("10.77.0.2/24", on: "eth0", in: "peer")
        let ping = try lab.exec(in: "guest", ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2"])
        #expect(ping.succeeded, "\(ping.stdout)\(ping.stderr)")
        #expect(ping.stdout.contains("3 received"))

        lab.cleanup()
        let namespaces = try ExternalTool.output("/usr/sbin/ip", ["netns", "list"])
        #expect(!namespaces.contains(prefix))
        let links = try ExternalTool.output("/usr/sbin/ip", ["-o", "link", "show"])
        #expect(!links.contains(prefix))
    }
}
