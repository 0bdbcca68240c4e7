import Foundation
import SidetapCore
import SidetapPorts
import Testing

/// Files written by `FilePort` and read back by tcpdump and tshark, packet for packet.
@Suite struct FilePortReadBackTests {
    static let cases: [(CaptureFormat, TimestampPrecision)] = [(.pcap, .nano), (.pcap, .micro), (.pcapng, .nano), (.pcapng, .micro)]

    @Test(arguments: cases)
    func tcpdumpAndTsharkReadBackEveryPacket(format: CaptureFormat, precision: TimestampPrecision) throws {
        let directory = TemporaryDirectory()
        let path = directory.file("out/capture.\(format.rawValue)")
        let port = FilePort(name: "archive", settings: FilePortSettings(
            path: path, format: format, precision: precision, sectionComment: "source=test port=archive"))
        let packets = Traffic.ethernet(count: 40)
        try port.open(sources: [Traffic.source("eth0", snaplen: 65535)])
        for packet in packets { try packet.write(to: port) }
        try port.close()

        #expect(directory.names(under: "out") == ["capture.\(format.rawValue)"])
        let dumped = try Tool.tcpdump(path)
        expectSamePackets(dumped.map(\.bytes), packets.map(\.bytes))
        expectSameTimestamps(dumped.map(\.timestampNanos), packets.map { $0.storedTimestamp(precision) })
        let fields = try Tool.tsharkFields(path)
        #expect(fields.count == packets.count)
        for (written, read) in zip(packets, fields) {
            #expect(read.length == Int(written.wireLength))
            #expect(read.capturedLength == written.bytes.count)
            #expect(read.timestampNanos == written.storedTimestamp(precision))
        }
    }

    @Test(arguments: [CaptureFormat.pcap, .pcapng])
    func slicedPacketKeepsCapturedLengthBelowWireLength(format: CaptureFormat) throws {
        let directory = TemporaryDirectory()
        let path = directory.file("sliced")
        let port = FilePort(name: "sliced", settings: FilePortSettings(path: path, format: format))
        var packet = Traffic.ethernet(count: 6)[5]   // 1514 bytes on the wire
        packet.bytes = Array(packet.bytes.prefix(64))
        try port.open(sources: [Traffic.source("eth0", snaplen: 64)])
        try packet.write(to: port)
        try port.close()

        let fields = try Tool.tsharkFields(path)
        #expect(fields.count == 1)
        #expect(fields.first?.length == 1514)
        #expect(fields.first?.capturedLength == 64)
        #expect(try Tool.tcpdump(path).first?.bytes == packet.bytes)
    }

    @Test func pcapngKeepsTwoSourcesWithDifferentLinkTypes() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mixed.pcapng")
        let port = FilePort(name: "mixed", settings: FilePortSettings(path: path))
        let ethernet = Traffic.ethernet(count: 5, sourceIndex: 0)
        let raw = Traffic.rawIPv4(count: 5, sourceIndex: 1)
        try port.open(sources: [Traffic.source("vnet0", .ethernet), Traffic.source("tun0", .raw)])
        var written: [TestPacket] = []
        for index in 0..<5 {
            written += [ethernet[index], raw[index]]
        }
        for packet in written { try packet.write(to: port) }
        try port.close()

        let fields = try Tool.tsharkFields(path)
        #expect(fields.map(\.interfaceID) == written.map { Int($0.sourceIndex) })
        #expect(fields.map(\.interfaceName) == written.map { $0.sourceIndex == 0 ? "vnet0" : "tun0" })
        #expect(fields.map(\.timestampNanos) == written.map(\.timestampNanos))
        #expect(fields.map(\.length) == written.map { Int($0.wireLength) })
        expectSamePackets(try Tool.tsharkBytes(path), written.map(\.bytes))

        // Wireshark's capinfos lists both interface descriptions.
        let info = try Tool.run("/usr/bin/capinfos", [path]).standardOutput
        #expect(info.contains("Number of interfaces in file: 2"), "\(info)")
        #expect(info.contains("Name = vnet0"))
        #expect(info.contains("Description = test:vnet0"))
        #expect(info.contains("Name = tun0"))
        #expect(info.contains("Encapsulation = Ethernet (1 - ether)"))
        #expect(info.contains("Encapsulation = Raw IP (7 - rawip)"))
        #expect(info.contains("Time resolution = 0x09"))
    }

    @Test func pcapRefusesMixedLinkTypesNamingThemAndSuggestingPcapng() throws {
        let directory = TemporaryDirectory()
        let port = FilePort(name: "flat", settings: FilePortSettings(path: directory.file("flat.pcap")))
        #expect(port.settings.format == .pcap)
        do {
            try port.open(sources: [Traffic.source("vnet0", .ethernet), Traffic.source("tun0", .raw)])
            Issue.record("open succeeded with mixed link types")
        } catch let error as PortSetupError {
            let text = error.description
            #expect(text.contains("EN10MB"))
            #expect(text.contains("RAW"))
            #expect(text.contains("vnet0"))
            #expect(text.contains("tun0"))
            #expect(text.contains("pcapng"))
        }
        #expect(directory.names().isEmpty)
    }

    @Test func sectionCommentAndApplicationAreInTheSectionHeader() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("c.pcapng")
        let port = FilePort(name: "c", settings: FilePortSettings(path: path, sectionComment: "sidetap 0.1 port=c"))
        try port.open(sources: [Traffic.source("eth0")])
        try Traffic.ethernet(count: 1)[0].write(to: port)
        try port.close()
        let info = try Tool.run("/usr/bin/capinfos", [path])
        #expect(info.status == 0)
        #expect(info.standardOutput.contains("Capture comment:     sidetap 0.1 port=c"), "\(info.standardOutput)")
        #expect(info.standardOutput.contains("Capture application: Sidetap"))
        #expect(info.standardOutput.contains("Number of packets:   1"))
    }

    @Test func writeErrorsDropOnlyThatPacket() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("e.pcapng")
        let port = FilePort(name: "e", settings: FilePortSettings(path: path))
        try port.open(sources: [Traffic.source("eth0")])
        var wrongSource = Traffic.ethernet(count: 1)[0]
        wrongSource.sourceIndex = 3
        #expect(throws: PortWriteError.self) { try wrongSource.write(to: port) }
        var wrongLink = Traffic.ethernet(count: 1)[0]
        wrongLink.linkType = .raw
        #expect(throws: PortWriteError.self) { try wrongLink.write(to: port) }
        let good = Traffic.ethernet(count: 3)
        for packet in good { try packet.write(to: port) }
        try port.close()
        expectSamePackets(try Tool.tcpdump(path).map(\.bytes), good.map(\.bytes))
        #expect(throws: PortWriteError.self) { try good[0].write(to: port) }
    }

    @Test func unusableDirectoryFailsOpenWithThePath() throws {
        let directory = TemporaryDirectory()
        FileManager.default.createFile(atPath: directory.file("blocker"), contents: Data([1]))
        let port = FilePort(name: "x", settings: FilePortSettings(path: directory.file("blocker/sub/x.pcap")))
        do {
            try port.open(sources: [Traffic.source("eth0")])
            Issue.record("open succeeded under a regular file")
        } catch let error as SystemError {
            #expect(error.description.contains(directory.file("blocker")))
        }
    }
}
