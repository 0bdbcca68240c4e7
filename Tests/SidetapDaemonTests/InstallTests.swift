import Foundation
import SidetapTestKit
import Testing

/// The systemd unit in dist/systemd and `make install`.
@Suite(.serialized) struct InstallTests {
    static let unit = TestSupport.repositoryRoot + "/dist/systemd/sidetap.service"

    /// `KEY=VALUE` lines of the unit, comments left out.
    static func keys() throws -> [String: [String]] {
        var found: [String: [String]] = [:]
        for line in try String(contentsOfFile: unit, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            found[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return found
    }

    @Test func theUnitIsHardenedAndNotifies() throws {
        let keys = try Self.keys()
        let expected: [String: String] = [
            "Type": "notify", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
            "StateDirectory": "sidetap", "RuntimeDirectory": "sidetap", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
            "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
            "ExecReload": "/bin/kill -HUP $MAINPID", "WatchdogSec": "30s",
        ]
        for (key, value) in expected {
            #expect(keys[key] == [value], "\(key): \(String(describing: keys[key]))")
        }
        #expect(Set((keys["CapabilityBoundingSet"]?.first ?? "").split(separator: " ").map(String.init))
                == ["CAP_NET_RAW", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_CHOWN"])
        #expect(Set((keys["RestrictAddressFamilies"]?.first ?? "").split(separator: " ").map(String.init))
                == ["AF_UNIX", "AF_INET", "AF_INET6", "AF_PACKET", "AF_NETLINK"])
        #expect(keys["ExecStart"]?.first?.hasPrefix("/usr/local/bin/sidetap run /etc/sidetap/sidetap.yaml") == true)
        #expect(keys["ExecStart"]?.first?.hasSuffix("--user sidetap") == true)
    }

    /// systemd's own parser: no unknown key, no bad value (it needs no running systemd).
    @Test func systemdAnalyzeVerifiesTheUnit() throws {
        let analyze = "/usr/bin/systemd-analyze"
        try #require(FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is missing (scripts/install-deps.sh installs systemd)")
        let dir = TestSupport.temporaryDirectory("unit")
        defer { TestSupport.cleanup(dir) }
        // verify checks that ExecStart's program exists: point it at the built binary.
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/sidetap", with: TestSupport.sidetapExecutable)
        try text.write(toFile: dir + "/sidetap.service", atomically: true, encoding: .utf8)
        let result = try ExternalTool.run(analyze, ["verify", dir + "/sidetap.service"])
        #expect(result.status == 0 && result.stderr.isEmpty && result.stdout.isEmpty, "\(result.stdout)\(result.stderr)")
        // A misspelt key is caught the same way, so the check above can fail.
        try text.replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHom=yes").write(toFile: dir + "/sidetap.service", atomically: true, encoding: .utf8)
        let typo = try ExternalTool.run(analyze, ["verify", dir + "/sidetap.service"])
        #expect(typo.stderr.contains("Unknown key"), "\(typo.stderr)")
    }

    @Test func makeInstallPlansTheExpectedPaths() throws {
        let result = try ExternalTool.run("/usr/bin/make", ["-n", "install", "DESTDIR=/stage", "BINARY=/bin/true"], directory: TestSupport.repositoryRoot)
        #expect(result.succeeded, "\(result.stderr)")
        for path in ["/stage/usr/local/bin/sidetap", "/stage/etc/systemd/system/sidetap.service", "/stage/etc/sysusers.d/sidetap.conf", "/stage/etc/sidetap/filters",
                     "/stage/usr/local/share/doc/sidetap"] {
            #expect(result.stdout.contains(path), "make -n install does not mention \(path)")
        }
    }

    /// A real install into a staging folder, with the debug binary: the files land, a second
    /// install keeps an edited config, the installed example config passes `sidetap check`, and
    /// uninstall keeps the config.
    @Test(.timeLimit(.minutes(2))) func makeInstallInstallsKeepsConfigAndUninstalls() throws {
        let stage = TestSupport.temporaryDirectory("install")
        defer { TestSupport.cleanup(stage) }
        let arguments = ["DESTDIR=\(stage)", "BINARY=\(TestSupport.sidetapExecutable)"]
        let first = try ExternalTool.run("/usr/bin/make", ["install"] + arguments, directory: TestSupport.repositoryRoot)
        #expect(first.succeeded, "\(first.stdout)\(first.stderr)")
        let fm = FileManager.default
        for path in ["/usr/local/bin/sidetap", "/etc/systemd/system/sidetap.service", "/etc/sidetap/sidetap.yaml",
                     "/etc/sidetap/filters/web-to-waf.rules", "/usr/local/share/doc/sidetap/operations.md",
                     "/usr/local/share/doc/sidetap/sidetap.json"] {
            #expect(fm.fileExists(atPath: stage + path), "\(path) not installed")
        }
        #expect(fm.isExecutableFile(atPath: stage + "/usr/local/bin/sidetap"))
        let check = try ExternalTool.run(TestSupport.sidetapExecutable, ["check", stage + "/etc/sidetap/sidetap.yaml"])
        #expect(check.succeeded && check.stdout.contains("check passed"), "\(check.stdout)\(check.stderr)")

        try "# edited by the operator\n".write(toFile: stage + "/etc/sidetap/sidetap.yaml", atomically: true, encoding: .utf8)
        let second = try ExternalTool.run("/usr/bin/make", ["install"] + arguments, directory: TestSupport.repositoryRoot)
        #expect(second.succeeded && second.stdout.contains("keeping"), "\(second.stdout)\(second.stderr)")
        #expect(try String(contentsOfFile: stage + "/etc/sidetap/sidetap.yaml", encoding: .utf8) == "# edited by the operator\n")
        #expect(fm.fileExists(atPath: stage + "/etc/sidetap/sidetap.yaml.example"))

        let removed = try ExternalTool.run("/usr/bin/make", ["uninstall"] + arguments, directory: TestSupport.repositoryRoot)
        #expect(removed.succeeded, "\(removed.stderr)")
        #expect(!fm.fileExists(atPath: stage + "/usr/local/bin/sidetap") && !fm.fileExists(atPath: stage + "/etc/systemd/system/sidetap.service"))
        #expect(fm.fileExists(atPath: stage + "/etc/sidetap/sidetap.yaml"))
    }
}
