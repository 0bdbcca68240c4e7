import SidetapCore
import SidetapDaemon
import SidetapPorts
import Testing

/// `kind: socket` in the config: what parses, with which defaults, and every mistake reported
/// with its line and reason.
@Suite struct SocketPortConfigTests {
    let head = "sources:\n  - { name: s, file: a.pcap }\nports:\n"

    func parse(_ ports: String) throws -> [PortConfig] {
        try SidetapConfig.parse(head + ports, file: "k.yaml", baseDirectory: "/base").ports
    }

    func expectError(_ ports: String, line: Int = 4, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectConfigError(head + ports, file: "k.yaml", line: line, containing: text, sourceLocation: sourceLocation)
    }

    @Test func socketPortsParseWithTheirDefaults() throws {
        let ports = try parse("""
              - { name: a, kind: socket, listen: "tcp://127.0.0.1:5555", rules: r }
              - { name: b, kind: socket, listen: "tcp://[::1]:5556", max_readers: 2, format: pcapng, precision: micro, rules: r }
              - { name: c, kind: socket, listen: "unix:/run/sidetap/tap.sock", rules: r }
              - { name: d, kind: socket, listen: "unix:sock/tap.sock", rules: r }
            """)
        #expect(ports.map(\.kind) == [.socket, .socket, .socket, .socket])
        #expect(ports[0].socket == SocketPortTarget(listen: .tcp(IPAddress("127.0.0.1")!, port: 5555), maxReaders: 8))
        #expect(ports[1].socket == SocketPortTarget(listen: .tcp(IPAddress("::1")!, port: 5556), maxReaders: 2))
        #expect(ports[1].format == .pcapng && !ports[1].nanosecond)
        #expect(ports[0].format == .pcap && ports[0].nanosecond)
        #expect(ports[2].socket?.listen == .unix(path: "/run/sidetap/tap.sock"))
        #expect(ports[3].socket?.listen == .unix(path: "/base/sock/tap.sock"), "relative to the config's directory")
        #expect(ports.allSatisfy { $0.path == nil && $0.network == nil })
        #expect(PortKind.socket.writesCaptureFormat && !PortKind.socket.isNetwork)
    }

    @Test func engineAssemblyBuildsASocketStreamPort() throws {
        let config = try SidetapConfig.parse(head + "  - { name: a, kind: socket, listen: \"tcp://127.0.0.1:5555\", max_readers: 3, rules: r }\n",
                                             file: "k.yaml", baseDirectory: "/base")
        let port = try EngineAssembly.makePort(config.ports[0], config: config, overrides: .init())
        let socket = try #require(port as? SocketStreamPort)
        #expect(socket.settings.maxReaders == 3 && socket.settings.listen == .tcp(IPAddress("127.0.0.1")!, port: 5555))
    }

    @Test func missingOrBadListenAddresses() {
        expectError("  - { name: p, kind: socket, rules: r }\n", containing: "a socket port needs 'listen'")
        expectError("  - { name: p, kind: socket, listen: \"127.0.0.1:5555\", rules: r }\n", containing: "is not tcp://HOST:PORT or unix:/PATH")
        expectError("  - { name: p, kind: socket, listen: \"tcp://localhost:5555\", rules: r }\n", containing: "host names are not accepted")
        expectError("  - { name: p, kind: socket, listen: \"tcp://::1:5555\", rules: r }\n", containing: "an IPv6 address goes in brackets")
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:70000\", rules: r }\n", containing: "is not a number between 0 and 65535")
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:0\", rules: r }\n", containing: "between 1 and 65535, got 0")
        expectError("  - { name: p, kind: socket, listen: \"unix:\", rules: r }\n", containing: "unix: needs a socket path")
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:1\", max_readers: 0, rules: r }\n", containing: "max_readers")
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:1\", max_readers: 65, rules: r }\n", containing: "max_readers")
    }

    @Test func otherKindsKeysAreRefused() {
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:1\", path: x.pcap, rules: r }\n", containing: "takes no 'path'")
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:1\", rotate: { size: 1MiB }, rules: r }\n", containing: "only file ports rotate")
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:1\", collector: 192.0.2.1, rules: r }\n",
                    containing: "'collector' applies to vxlan, gre, erspan ports, not to a socket port")
        expectError("  - { name: p, kind: socket, listen: \"tcp://127.0.0.1:1\", interface: eth0, rules: r }\n",
                    containing: "'interface' applies to interface ports, not to a socket port")
        expectError("  - { name: p, kind: file, path: x.pcap, listen: \"tcp://127.0.0.1:1\", rules: r }\n",
                    containing: "'listen' applies to socket ports, not to a file port")
        expectError("  - { name: p, kind: stream, path: \"-\", max_readers: 2, rules: r }\n",
                    containing: "'max_readers' applies to socket ports, not to a stream port")
        expectError("  - { name: p, kind: vxlan, collector: 192.0.2.1, vni: 1, listen: \"tcp://127.0.0.1:1\", rules: r }\n",
                    containing: "'listen' applies to socket ports, not to a vxlan port")
    }
}
