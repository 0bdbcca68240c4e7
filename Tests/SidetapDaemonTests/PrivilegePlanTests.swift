import Foundation
import SidetapDaemon
import Testing

/// The capabilities `sidetap run --user` keeps for a config, and the /proc values it reads.
@Suite struct PrivilegePlanTests {
    static func plan(_ yaml: String) throws -> PrivilegePlan {
        let config = try SidetapConfig.parse(yaml, file: "p.yaml", baseDirectory: "/base")
        let controlPlane = config.options.resolvedControlSocket != nil || config.control.tls != nil
        return PrivilegePlan(config: config, controlPlane: controlPlane)
    }

    static let filePort = "ports:\n  - { name: all, kind: discard, rules: all.rules }\n"

    @Test func fileSourcesWithoutCutsKeepNothing() throws {
        let offSocket = try Self.plan("sources:\n  - { name: f, file: in.pcap }\n" + Self.filePort + "options: { control_socket: off }\n")
        #expect(offSocket.kept == .none)
        let noCuts = try Self.plan("sources:\n  - { name: f, file: in.pcap }\n" + Self.filePort
                                   + "control: { cuts: { reset: off, block: off } }\n")
        #expect(noCuts.kept == .none)
        #expect(noCuts.grants.isEmpty)
    }

    @Test func blockCutsKeepNetAdminOnly() throws {
        // Cuts default to on: with the control socket running, blocks are possible.
        let plan = try Self.plan("sources:\n  - { name: f, file: in.pcap }\n" + Self.filePort
                                 + "control: { cuts: { nftables_table: mine } }\n")
        #expect(plan.kept == CapabilitySet([.netAdmin]))
        #expect(plan.grants.count == 1)
        #expect(plan.grants[0].reason.contains("mine"))
    }

    @Test func liveSourcesKeepNetRawWithTheirNames() throws {
        let plan = try Self.plan("sources:\n  - { name: vm1, interface: vnet0 }\n  - { name: f, file: in.pcap }\n" + Self.filePort
                                 + "control: { cuts: { block: off } }\n")
        #expect(plan.kept == CapabilitySet([.netRaw]))
        #expect(plan.grants[0].reason.contains("vm1") && plan.grants[0].reason.contains("re-open"))
        #expect(plan.grants[0].reason.contains("reset cuts"))
        let both = try Self.plan("sources:\n  - { name: vm1, interface: vnet0 }\n" + Self.filePort)
        #expect(both.kept == CapabilitySet([.netAdmin, .netRaw]))
        #expect(both.kept.description == "cap_net_admin,cap_net_raw")
        #expect(both.grants.map(\.capability) == [.netAdmin, .netRaw])
    }

    @Test func capabilitySetsParseAndPrintLikeProc() {
        #expect(CapabilitySet(hex: "0000000000003000") == CapabilitySet([.netAdmin, .netRaw]))
        #expect(CapabilitySet(hex: "000001ffffffffff")?.members.count == 41)
        #expect(CapabilitySet(hex: "0000000000000000") == CapabilitySet.none)
        #expect(CapabilitySet(hex: "xyz") == nil)
        #expect(CapabilitySet(hex: "") == nil)
        #expect(CapabilitySet(hex: "00000000000000000") == nil)
        #expect(CapabilitySet([.netRaw]).hex == "0000000000002000")
        #expect(CapabilitySet.none.description == "none")
        #expect(Capability(number: 21).name == "cap_sys_admin")
        #expect(Capability(number: 60).name == "cap_60")
    }

    static let status = """
        Name:\tsidetap-port
        Umask:\t0022
        State:\tS (sleeping)
        Tgid:\t4242
        Pid:\t4250
        Uid:\t65534\t65534\t65534\t65534
        Gid:\t65534\t65534\t65534\t65534
        Groups:\t65534 
        CapInh:\t0000000000000000
        CapPrm:\t0000000000002000
        CapEff:\t0000000000002000
        CapBnd:\t0000000000002000
        CapAmb:\t0000000000000000
        NoNewPrivs:\t1
        Seccomp:\t0

        """

    @Test func threadStatusIsParsedAndCompared() throws {
        let thread = try #require(ThreadCredentials(thread: 4250, status: Self.status))
        #expect(thread.name == "sidetap-port")
        #expect(thread.state == "S" && !thread.hasExited)
        let zombie = try #require(ThreadCredentials(thread: 1, status: Self.status.replacingOccurrences(of: "S (sleeping)", with: "Z (zombie)")))
        #expect(zombie.hasExited)
        #expect(thread.uids == [65534, 65534, 65534, 65534])
        #expect(thread.groups == [65534])
        #expect(thread.permitted == CapabilitySet([.netRaw]))
        #expect(thread.noNewPrivileges)
        #expect(thread.differences(uid: 65534, gid: 65534, kept: CapabilitySet([.netRaw])).isEmpty)
        #expect(thread.differences(uid: 65534, gid: 65534, kept: .none) == ["CapPrm 0000000000002000", "CapEff 0000000000002000", "CapBnd 0000000000002000"])
        #expect(thread.differences(uid: 0, gid: 65534, kept: CapabilitySet([.netRaw])) == ["Uid 65534 65534 65534 65534"])
        let root = Self.status.replacingOccurrences(of: "NoNewPrivs:\t1", with: "NoNewPrivs:\t0")
            .replacingOccurrences(of: "CapAmb:\t0000000000000000", with: "CapAmb:\t0000000000002000")
        let unsafe = try #require(ThreadCredentials(thread: 1, status: root))
        #expect(unsafe.differences(uid: 65534, gid: 65534, kept: CapabilitySet([.netRaw])) == ["CapAmb 0000000000002000", "NoNewPrivs 0"])
        #expect(ThreadCredentials(thread: 1, status: "Name:\tx\nUid:\t0\t0\n") == nil)
    }

    @Test func thisProcessIsReadable() throws {
        let threads = try ThreadCredentials.all()
        #expect(!threads.isEmpty)
        #expect(threads.allSatisfy { $0.uids[1] == geteuid() })
    }

    @Test func usersAndGroupsAreLookedUp() throws {
        let nobody = try RunAsUser(name: "nobody")
        #expect(nobody.uid == 65534)
        #expect(nobody.groups.contains(nobody.gid))
        let byNumber = try RunAsUser(name: "65534", group: "0")
        #expect(byNumber.uid == 65534 && byNumber.gid == 0)
        #expect(throws: RunAsUser.Failure.self) { _ = try RunAsUser(name: "stpriv-no-such-user") }
        #expect(throws: RunAsUser.Failure.self) { _ = try RunAsUser(name: "nobody", group: "stpriv-no-such-group") }
    }
}
