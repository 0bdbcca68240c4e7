import Foundation
import SidetapDaemon
import SidetapEvidence
import SidetapPorts
import SidetapTestKit
import Testing

/// `manifest:` on file ports, the provenance the engine passes, and `sidetap evidence verify`.
@Suite struct EvidenceConfigTests {
    let head = "sources:\n  - { name: s, file: in.pcap, guest: web }\nports:\n"

    @Test func manifestDefaultsToOnAndCanBeTurnedOff() throws {
        let on = try SidetapConfig.parse(head + "  - { name: p, kind: file, path: x.pcap, rules: r }\n", file: "t.yaml", baseDirectory: "/b")
        #expect(on.ports[0].manifest == true)
        let off = try SidetapConfig.parse(head + "  - { name: p, kind: file, path: x.pcap, rules: r, manifest: off }\n", file: "t.yaml", baseDirectory: "/b")
        #expect(off.ports[0].manifest == false)
    }

    @Test func badManifestSettingsNameTheirLine() {
        expectConfigError(head + "  - { name: p, kind: file, path: x, rules: r, manifest: maybe }\n", line: 4,
                          containing: "manifest must be one of on, off, true, false, got 'maybe'")
        expectConfigError(head + "  - { name: p, kind: discard, rules: r, manifest: on }\n", line: 4,
                          containing: "only file ports keep a manifest")
        expectConfigError(head + "  - { name: p, kind: file, path: x, rules: r, manifests: on }\n", line: 4, containing: "manifests")
    }

    @Test func replayWritesAManifestThatVerifiesAndCatchesAnEdit() throws {
        let dir = TestSupport.temporaryDirectory("evidence")
        defer { TestSupport.cleanup(dir) }
        try TestSupport.writeOnePortJob(dir, packets: 3000, port: "name: keep, kind: file, path: out/keep.pcapng, rotate: { size: 64KiB, keep: 3 }",
                                        rules: "accept any\n")
        let sidetap = TestSupport.sidetapExecutable
        let run = try ExternalTool.run(sidetap, ["run", dir + "/c.yaml"])
        #expect(run.status == 0, "\(run.stderr)")
        let out = dir + "/out"
        let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(names.contains("keep.manifest"), "\(names)")
        let captures = names.filter { $0.hasSuffix(".pcapng") }
        #expect(captures.count == 3, "\(names)")

        let clean = try ExternalTool.run(sidetap, ["evidence", "verify", out])
        #expect(clean.status == 0, "\(clean.stdout)")
        #expect(clean.stdout.contains("files verified: 3;"), "\(clean.stdout)")
        #expect(clean.stdout.hasSuffix("\(out): intact\n"))
        let shown = try ExternalTool.run(sidetap, ["evidence", "show", out])
        #expect(shown.stdout.contains("keep.manifest:1: "), "\(shown.stdout)")
        #expect(shown.stdout.contains("open pcapng: Sidetap "))
        #expect(shown.stdout.contains("(rotation)"))

        // The pcapng section comment names the provenance (tshark's capinfos as the oracle).
        let info = try ExternalTool.run("/usr/bin/capinfos", [out + "/" + captures[0]])
        #expect(info.stdout.contains("Capture comment:     \(SidetapVersion.current); port keep; sources x"), "\(info.stdout)")

        // One byte changed in the middle file: exit 1 and a line naming it.
        let victim = out + "/" + captures[1]
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[100] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        let tampered = try ExternalTool.run(sidetap, ["evidence", "verify", out])
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains(": changed: \(captures[1]): sha256 expected "), "\(tampered.stdout)")
        #expect(tampered.stdout.contains("NOT intact: 1 finding"))

    }
}
