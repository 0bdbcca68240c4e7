import Foundation
import SidetapCore
import SidetapPorts
import SidetapTestKit
import Testing

/// VXLAN, GRE and ERSPAN ports in a namespace lab: the collector namespace captures with
/// tcpdump exactly the packets the port wrote, the inner frames come out byte for byte, and
/// tshark decodes every encapsulation.
@Suite(.serialized) struct TunnelPortLabTests {
    /// Writes `frames` through a freshly opened `port` while tcpdump listens in the collector
    /// namespace, closes the port and returns what the collector saw.
    func send(_ frames: [[UInt8]], through port: any SidetapCore.Port, lab: PortLab, filter: String,
              wireLengths: [Int: Int] = [:]) throws -> (captured: [[UInt8]], capture: LabCapture) {
        let capture = try LabCapture(lab.lab, in: "collector", interface: "eth0", filter: filter)
        try lab.open(port)
        for (index, frame) in frames.enumerated() {
            try LabFrames.write(frame, to: port, wireLength: wireLengths[index])
        }
        try port.close()
        return (try capture.finish(), capture)
    }

    static func bytes(_ text: String) -> [UInt8] { IPAddress(text).map { address in
        address.isIPv4 ? withUnsafeBytes(of: address.ipv4Value.bigEndian, Array.init)
            : withUnsafeBytes(of: address.high.bigEndian, Array.init) + withUnsafeBytes(of: address.low.bigEndian, Array.init)
    } ?? [] }

    @Test func vxlanOverIPv4CarriesEveryFrameWithTheVNIAndAPerFlowSourcePort() throws {
        let lab = try PortLab()
        let port = VXLANPort(name: "ids", settings: VXLANPortSettings(collector: IPAddress(PortLab.collectorV4)!, vni: 4242))
        let frames = LabFrames.make(count: 24)
        let (captured, capture) = try send(frames, through: port, lab: lab, filter: "udp dst port 4789")
        #expect(captured.count == frames.count, "collector saw \(captured.count) packets, port wrote \(frames.count)")
        #expect(port.packetSequence == 24 && port.packetsSent == 24)

        var sourcePorts: [String: Set<UInt16>] = [:]
        for (index, frame) in captured.enumerated() where index < frames.count {
            guard let outer = OuterPacket(frame: frame) else { Issue.record("packet \(index) is not IPv4"); continue }
            #expect(outer.ipVersion == 4 && outer.ipProtocol == 17)
            #expect(outer.source == Self.bytes(PortLab.sidetapV4) && outer.destination == Self.bytes(PortLab.collectorV4))
            let udp = outer.payload
            let sourcePort = UInt16(udp[0]) << 8 | UInt16(udp[1])
            #expect(UInt16(udp[2]) << 8 | UInt16(udp[3]) == 4789)
            #expect(sourcePort >= 49152, "flow-hash source ports lie in 49152–65535, got \(sourcePort)")
            #expect(Array(udp[8..<16]) == [0x08, 0, 0, 0, 0x00, 0x10, 0x92, 0], "VXLAN header of packet \(index)")
            #expect(Array(udp[16...]) == frames[index], "inner frame \(index) differs")
            // A flow is its 5-tuple plus its VLAN: tagged frames of the same hosts are another flow.
            sourcePorts["\(index % 4)-\(index % 3 == 1)", default: []].insert(sourcePort)
        }
        // Both directions of a flow share one source port (each flow here has packets both
        // ways); different flows spread out.
        #expect(sourcePorts.count == 8 && sourcePorts.values.allSatisfy { $0.count == 1 }, "\(sourcePorts)")
        #expect(Set(sourcePorts.values.compactMap(\.first)).count > 1)

        let rows = try capture.tsharkFields(["vxlan.vni", "vxlan.flags", "ip.src", "udp.dstport", "vlan.id"])
        #expect(rows.count == frames.count)
        for (index, row) in rows.enumerated() {
            #expect(row[0] == "4242", "tshark vxlan.vni of packet \(index): \(row)")
            // ip.src holds the outer then the inner source address.
            let inner = index / 4 % 2 == 1 ? "10.2.0.1" : "10.1.0.\(10 + index % 4)"
            #expect(row[2] == "\(PortLab.sidetapV4),\(inner)", "tshark ip.src of packet \(index): \(row)")
            #expect(row[4] == (index % 3 == 1 ? "\(100 + index % 4)" : ""), "inner VLAN of packet \(index): \(row)")
        }
    }

    @Test func vxlanOverIPv6WithAFixedSourcePortAndACustomDestinationPort() throws {
        let lab = try PortLab()
        let port = VXLANPort(name: "ids6", settings: VXLANPortSettings(
            collector: IPAddress(PortLab.collectorV6)!, destinationPort: 8472, vni: 0xABCDEF, sourcePort: .fixed(33333)))
        let frames = LabFrames.make(count: 12)
        let (captured, capture) = try send(frames, through: port, lab: lab, filter: "ip6 and udp dst port 8472")
        #expect(captured.count == frames.count)
        for (index, frame) in captured.enumerated() where index < frames.count {
            guard let outer = OuterPacket(frame: frame) else { Issue.record("packet \(index) is not IPv6"); continue }
            #expect(outer.ipVersion == 6 && outer.ipProtocol == 17)
            #expect(outer.destination == Self.bytes(PortLab.collectorV6))
            #expect(Array(outer.payload[0..<4]) == [0x82, 0x35, 0x21, 0x18])    // 33333 → 8472
            #expect(Array(outer.payload[16...]) == frames[index], "inner frame \(index) differs")
        }
        let rows = try capture.tsharkFields(["vxlan.vni", "udp.checksum.status", "ipv6.dst"],
                                            options: ["-d", "udp.port==8472,vxlan", "-o", "udp.check_checksum:TRUE"])
        #expect(rows.count == frames.count)
        for row in rows {
            #expect(row[0] == "\(0xABCDEF)", "\(row)")
            // Outer UDP checksum (computed by the kernel) good; the inner one is absent (zero).
            #expect(row[1] == "1,3", "the kernel-computed UDP checksum over IPv6 is good: \(row)")
        }
    }

    @Test func greOverIPv4WithKeyAndSequenceNumbers() throws {
        let lab = try PortLab()
        let port = GREPort(name: "gre", settings: GREPortSettings(collector: IPAddress(PortLab.collectorV4)!, key: 77, sequenceNumbers: true))
        let frames = LabFrames.make(count: 16)
        let (captured, capture) = try send(frames, through: port, lab: lab, filter: "ip proto 47")
        #expect(captured.count == frames.count)
        for (index, frame) in captured.enumerated() where index < frames.count {
            guard let outer = OuterPacket(frame: frame) else { Issue.record("packet \(index) is not IPv4"); continue }
            #expect(outer.ipProtocol == 47 && outer.destination == Self.bytes(PortLab.collectorV4))
            let expectedHeader: [UInt8] = [0x30, 0x00, 0x65, 0x58, 0, 0, 0, 77] + withUnsafeBytes(of: UInt32(index).bigEndian, Array.init)
            #expect(Array(outer.payload[0..<12]) == expectedHeader, "GRE header of packet \(index)")
            #expect(Array(outer.payload[12...]) == frames[index], "inner frame \(index) differs")
        }
        let rows = try capture.tsharkFields(["gre.proto", "gre.key", "gre.sequence_number", "eth.dst"])
        #expect(rows.count == frames.count)
        for (index, row) in rows.enumerated() {
            #expect(row[0] == "0x6558", "\(row)")
            #expect(row[1] == "0x0000004d" || row[1] == "77", "\(row)")
            #expect(row[2] == "\(index)", "\(row)")
            #expect(row[3].split(separator: ",").count == 2, "outer and inner Ethernet decoded: \(row)")
        }
        #expect(port.packetSequence == 16 && port.packetsSent == 16)
    }

    @Test func greOverIPv6WithoutKey() throws {
        let lab = try PortLab()
        let port = GREPort(name: "gre6", settings: GREPortSettings(collector: IPAddress(PortLab.collectorV6)!))
        let frames = LabFrames.make(count: 8)
        let (captured, capture) = try send(frames, through: port, lab: lab, filter: "ip6 proto 47")
        #expect(captured.count == frames.count)
        for (index, frame) in captured.enumerated() where index < frames.count {
            guard let outer = OuterPacket(frame: frame) else { Issue.record("packet \(index) is not IPv6"); continue }
            #expect(outer.ipVersion == 6 && outer.ipProtocol == 47)
            #expect(Array(outer.payload[0..<4]) == [0, 0, 0x65, 0x58])
            #expect(Array(outer.payload[4...]) == frames[index], "inner frame \(index) differs")
        }
        let rows = try capture.tsharkFields(["gre.proto", "udp.dstport"])
        #expect(rows.map { $0[0] } == Array(repeating: "0x6558", count: frames.count))
        #expect(rows.allSatisfy { $0[1] == "5555" || $0[1].hasPrefix("4000") }, "inner UDP decoded: \(rows)")
    }

    @Test func erspanTypeIICarriesSessionVLANAndConsecutiveSequenceNumbers() throws {
        let lab = try PortLab()
        let port = ERSPANPort(name: "span", settings: ERSPANPortSettings(collector: IPAddress(PortLab.collectorV4)!, session: 321, index: 5))
        let frames = LabFrames.make(count: 18)
        // Frame 4 was sliced: its wire length is larger than the bytes written.
        let (captured, capture) = try send(frames, through: port, lab: lab, filter: "ip proto 47", wireLengths: [4: frames[4].count + 100])
        #expect(captured.count == frames.count)
        for (index, frame) in captured.enumerated() where index < frames.count {
            guard let outer = OuterPacket(frame: frame) else { Issue.record("packet \(index) is not IPv4"); continue }
            #expect(Array(outer.payload[0..<8]) == [0x10, 0x00, 0x88, 0xBE] + withUnsafeBytes(of: UInt32(index).bigEndian, Array.init))
            #expect(Array(outer.payload[16...]) == frames[index], "inner frame \(index) differs")
        }
        let rows = try capture.tsharkFields([
            "gre.proto", "gre.sequence_number", "erspan.version", "erspan.spanid", "erspan.vlan", "erspan.cos",
            "erspan.encap", "erspan.truncated", "erspan.index", "ip.dst",
        ])
        #expect(rows.count == frames.count)
        for (index, row) in rows.enumerated() {
            let tagged = index % 3 == 1
            #expect(row[0] == "0x88be", "\(row)")
            #expect(row[1] == "\(index)", "consecutive GRE sequence numbers from 0: \(row)")
            #expect(row[2] == "1" && row[3] == "321", "ERSPAN II, session 321: \(row)")
            #expect(row[4] == (tagged ? "\(100 + index % 4)" : "0"), "ERSPAN VLAN of packet \(index): \(row)")
            #expect(row[5] == (tagged ? "\(index % 8)" : "0"), "ERSPAN CoS of packet \(index): \(row)")
            #expect(row[6] == (tagged ? "3" : "0"), "ERSPAN En of packet \(index): \(row)")
            #expect(["True", "1"].contains(row[7]) == (index == 4), "T flag of packet \(index): \(row)")
            #expect(row[8] == "5", "\(row)")
            #expect(row[9].hasPrefix("\(PortLab.collectorV4),10."), "inner IPv4 decoded: \(row)")
        }
        let verbose = try capture.tsharkVerbose()
        #expect(verbose.contains("Encapsulated Remote Switch Packet ANalysis"))
        #expect(!verbose.contains("Malformed"))
    }

    @Test func aCollectorThatDisappearsCostsWriteErrorsOnlyOnItsOwnPort() throws {
        let lab = try PortLab()
        try lab.addCollector(name: "backup", sidetapEnd: "out1", v4: ("10.77.8.1", "10.77.8.2"), v6: ("fd77:8::1", "fd77:8::2"))
        let lost = VXLANPort(name: "lost", settings: VXLANPortSettings(collector: IPAddress(PortLab.collectorV4)!, vni: 1))
        let kept = ERSPANPort(name: "kept", settings: ERSPANPortSettings(collector: IPAddress("10.77.8.2")!, session: 9))
        let capture = try LabCapture(lab.lab, in: "backup", interface: "eth0", filter: "ip proto 47")
        try lab.open(lost)
        try lab.open(kept)
        let frames = LabFrames.make(count: 20)
        for frame in frames.prefix(10) {
            try LabFrames.write(frame, to: lost)
            try LabFrames.write(frame, to: kept)
        }
        try lab.lab.ip(["-n", lab.lab.namespace("sidetap"), "link", "del", "out0"])   // the collector's link vanishes
        var errors: [PortWriteError] = []
        let started = Date()
        for frame in frames.suffix(10) {
            do throws(PortWriteError) { try LabFrames.write(frame, to: lost) } catch { errors.append(error) }
            try LabFrames.write(frame, to: kept)
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 1, "writes to a vanished collector must not wait (took \(elapsed) s)")
        #expect(errors.count == 10, "every packet to the vanished collector fails: \(errors)")
        #expect(errors.allSatisfy { $0.code == ENETUNREACH }, "\(errors.map(\.description))")
        #expect(lost.packetSequence == 20 && lost.packetsSent == 10)
        try lost.close()
        try kept.close()
        let captured = try capture.finish()
        #expect(captured.count == 20, "the other collector received everything")
        let rows = try capture.tsharkFields(["gre.sequence_number", "erspan.spanid"])
        #expect(rows.map { $0[0] } == (0..<20).map { "\($0)" })
        #expect(kept.packetSequence == 20 && kept.packetsSent == 20)
    }

    @Test func nonEthernetPacketsAreAWriteErrorAndThePortKeepsGoing() throws {
        let lab = try PortLab()
        let port = GREPort(name: "gre", settings: GREPortSettings(collector: IPAddress(PortLab.collectorV4)!, sequenceNumbers: true))
        let capture = try LabCapture(lab.lab, in: "collector", interface: "eth0", filter: "ip proto 47")
        try lab.open(port)
        let frames = LabFrames.make(count: 4)
        try LabFrames.write(frames[0], to: port)
        #expect(throws: PortWriteError(code: EINVAL, operation: "send")) {
            try LabFrames.write(Array(frames[1].dropFirst(14)), to: port, linkType: .raw)
        }
        #expect(throws: PortWriteError(code: EINVAL, operation: "send")) {
            try LabFrames.write(Array(frames[1].prefix(10)), to: port)
        }
        try LabFrames.write(frames[2], to: port)
        try port.close()
        let captured = try capture.finish()
        #expect(captured.count == 2)
        // The two refused packets leave a gap in the sequence (0, then 3).
        let rows = try capture.tsharkFields(["gre.sequence_number"])
        #expect(rows.map { $0[0] } == ["0", "3"])
    }
}
