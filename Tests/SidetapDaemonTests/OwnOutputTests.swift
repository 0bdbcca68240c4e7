import Foundation
import SidetapCore
import SidetapDaemon
import SidetapPorts
import SidetapTestKit
import SidetapTraffic
import Testing

/// The loop guard: a source never captures a port's output interface, and a tunnel port's
/// outer packets are dropped before selection and counted per source.
@Suite(.serialized) struct OwnOutputTests {
    /// Ethernet + IPv4 + UDP (or a bare GRE header) from 10.0.0.1 to `destination`.
    static func frame(to destination: [UInt8], proto: UInt8, destinationPort: UInt16 = 0, length: Int = 80) -> [UInt8] {
        var bytes: [UInt8] = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]
        let total = length - 14
        bytes += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1] + destination
        if proto == 17 {
            bytes += [0xC0, 0x00, UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF), UInt8((total - 20) >> 8), UInt8((total - 20) & 0xFF), 0, 0]
        } else {
            bytes += [0x00, 0x00, 0x65, 0x58]
        }
        while bytes.count < length { bytes.append(UInt8(truncatingIfNeeded: bytes.count)) }
        return bytes
    }

    @Test func aSourceCapturingAPortsOutputInterfaceIsRefused() throws {
        let ports: [any SidetapCore.Port] = [
            TapPort(name: "appliance", device: "sttap9"), InterfacePort(name: "nic", interface: "eth9"), DiscardPort(name: "d"),
        ]
        let file = SourceDescription(name: "file", linkType: .ethernet, snaplen: 65535, origin: "/captures/eth9")
        try EngineAssembly.checkOwnOutput(ports: ports, sources: [file])
        let tap = SourceDescription(name: "vm", linkType: .ethernet, snaplen: 65535, origin: "interface sttap9", interface: "sttap9")
        let any = SourceDescription(name: "all", linkType: .linuxSLL2, snaplen: 65535, origin: "interface any", interface: "any")
        let error = #expect(throws: EngineError.self) { try EngineAssembly.checkOwnOutput(ports: ports, sources: [file, tap, any]) }
        let text = error?.description ?? ""
        #expect(text.contains("source 'vm' captures interface 'sttap9', which port 'appliance' writes to"), "\(text)")
        #expect(text.contains("source 'all' captures every interface, which port 'nic' writes to"), "\(text)")
        #expect(!text.contains("'file'"))
    }

    @Test func tunnelOuterPacketsAreDroppedBeforeSelectionAndCounted() throws {
        let dir = TestSupport.temporaryDirectory("own")
        defer { TestSupport.cleanup(dir) }
        let loopback: [UInt8] = [127, 0, 0, 1]
        let writer = try PcapWriter(path: dir + "/in.pcap")
        var expected = (inner: 0, own: 0)
        for index in 0..<60 {
            let frame: [UInt8]
            switch index % 6 {
            case 0: frame = Self.frame(to: loopback, proto: 17, destinationPort: 4789); expected.own += 1     // our VXLAN
            case 1: frame = Self.frame(to: loopback, proto: 47); expected.own += 1                              // our GRE
            case 2: frame = Self.frame(to: loopback, proto: 17, destinationPort: 4790); expected.inner += 1     // another UDP port
            case 3: frame = Self.frame(to: [127, 0, 0, 2], proto: 47); expected.inner += 1                      // GRE elsewhere
            default: frame = Self.frame(to: [10, 0, 0, 2], proto: 17, destinationPort: 53); expected.inner += 1
            }
            try writer.write(frame, timestampNanos: 1_700_000_000_000_000_000 + Int64(index) * 1000)
        }
        try writer.close()
        try "accept\n".write(toFile: dir + "/all.rules", atomically: true, encoding: .utf8)
        let yaml = """
            sources:
              - { name: uplink, file: in.pcap }
            ports:
              - { name: everything, kind: discard, rules: all.rules }
              - { name: ids, kind: vxlan, collector: 127.0.0.1, vni: 9, rules: all.rules }
              - { name: span, kind: erspan, collector: 127.0.0.1, session: 3, rules: all.rules }
            """
        try yaml.write(toFile: dir + "/sidetap.yaml", atomically: true, encoding: .utf8)
        let engine = try EngineAssembly.build(try SidetapConfig.load(path: dir + "/sidetap.yaml"))
        try engine.start()
        engine.waitUntilFinished()
        let stats = engine.statistics()
        #expect(stats.sources[0].packets == 60)
        #expect(stats.sources[0].ownOutput == UInt64(expected.own), "own-output packets counted at the source")
        for port in stats.ports {
            #expect(port.selected == UInt64(expected.inner), "port \(port.name) selects only the other packets")
        }
        #expect(stats.ports[1].sent == UInt64(expected.inner) && stats.ports[2].sent == UInt64(expected.inner))
        // Tunnel ports number their packets (the gap signal appliances read from stats); a
        // discard port has no sequence.
        #expect(stats.ports[1].sequence == UInt64(expected.inner) && stats.ports[2].sequence == UInt64(expected.inner))
        #expect(stats.ports[0].sequence == nil)
    }
}

/// A socket port's served TCP stream is own output too: a source that sees it (`lo`, `any`)
/// drops it before selection, so a port never feeds its own stream back to itself.
@Suite struct ServedStreamGuardTests {
    static func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16) -> [UInt8] {
        FrameBuilder(network: .ipv4(IPv4Header(source: IPAddress(source)!, destination: IPAddress(destination)!)),
                     transport: .tcp(TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort, flags: [.ack])),
                     payload: Array(repeating: 0x5A, count: 40)).build().bytes
    }

    @Test func aServedStreamIsDroppedBeforeSelectionAndCounted() throws {
        let dir = TestSupport.temporaryDirectory("served")
        defer { TestSupport.cleanup(dir) }
        let writer = try PcapWriter(path: dir + "/in.pcap")
        let frames = [
            Self.tcp("127.0.0.1", 5555, "127.0.0.1", 40000),   // the stream to a reader: own
            Self.tcp("127.0.0.1", 40000, "127.0.0.1", 5555),   // the reader's ACK: own
            Self.tcp("127.0.0.1", 5556, "127.0.0.1", 40001),   // another service: selected
            Self.tcp("10.0.0.1", 5555, "10.0.0.2", 40000),     // port 5555 on other addresses: selected
        ]
        for (index, frame) in frames.enumerated() {
            try writer.write(frame, timestampNanos: 1_700_000_000_000_000_000 + Int64(index) * 1000)
        }
        try writer.close()
        try "accept\n".write(toFile: dir + "/all.rules", atomically: true, encoding: .utf8)
        let yaml = """
            sources:
              - { name: loopback, file: in.pcap }
            ports:
              - { name: everything, kind: discard, rules: all.rules }
              - { name: feed, kind: socket, listen: "tcp://127.0.0.1:5555", rules: all.rules }
            options: { control_socket: off }
            """
        try yaml.write(toFile: dir + "/sidetap.yaml", atomically: true, encoding: .utf8)
        let engine = try EngineAssembly.build(try SidetapConfig.load(path: dir + "/sidetap.yaml"))
        try engine.start()
        engine.waitUntilFinished()
        let stats = engine.statistics()
        #expect(stats.sources[0].packets == 4)
        #expect(stats.sources[0].ownOutput == 2, "the served stream and its ACKs are own output")
        #expect(stats.ports[0].selected == 2)
        #expect(stats.ports[0].readers == nil, "a discard port has no readers")
        #expect(stats.ports[1].readers == ReaderStatistics(connected: 0, accepted: 0, rejected: 0, skippedPackets: 0))
    }

    @Test func servedTrafficMatchesBothDirectionsOfTheListenEndpoint() {
        func decoded(_ frame: [UInt8]) -> DecodedPacket {
            var packet = DecodedPacket()
            frame.withUnsafeBytes { PacketDecoder.decode($0, linkType: .ethernet, into: &packet) }
            return packet
        }
        let specific = ServedTraffic(address: IPAddress("127.0.0.1")!, port: 5555)
        let wildcard = ServedTraffic(address: IPAddress(ipv4: 0), port: 5555)
        #expect(specific.matches(decoded(Self.tcp("127.0.0.1", 5555, "127.0.0.1", 40000))))
        #expect(specific.matches(decoded(Self.tcp("127.0.0.1", 40000, "127.0.0.1", 5555))))
        #expect(!specific.matches(decoded(Self.tcp("10.0.0.1", 5555, "10.0.0.2", 40000))))
        #expect(wildcard.matches(decoded(Self.tcp("10.0.0.1", 5555, "10.0.0.2", 40000))))
        #expect(!wildcard.matches(decoded(Self.tcp("10.0.0.1", 5556, "10.0.0.2", 40000))))
    }
}
