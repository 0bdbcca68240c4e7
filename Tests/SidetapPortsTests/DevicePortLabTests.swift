import Foundation
import SidetapCore
import SidetapPorts
import SidetapTestKit
import Testing

/// Interface and TAP ports in a namespace lab: the frames come out byte for byte where an
/// appliance would read them, and the ports survive their device vanishing.
@Suite(.serialized) struct DevicePortLabTests {
    static let innerFilter = "udp port 5555 or (vlan and udp port 5555)"

    /// True when `device` exists in the lab namespace `namespace`.
    func exists(_ lab: PortLab, _ device: String, in namespace: String) -> Bool {
        (try? lab.lab.ip(["-n", lab.lab.namespace(namespace), "link", "show", device])) != nil
    }

    // MARK: - Interface port

    @Test func interfacePortSendsEveryFrameAsItIsOntoTheWire() throws {
        let lab = try PortLab(collector: false)
        try lab.lab.addNamespace("collector")
        try lab.lab.addVeth("wire0", in: "sidetap", "wire1", in: "collector")
        let port = InterfacePort(name: "nic", interface: "wire0")
        #expect(port.egress == PortEgress(port: "nic", interface: "wire0"))
        let capture = try LabCapture(lab.lab, in: "collector", interface: "wire1", filter: Self.innerFilter)
        try lab.open(port)
        let frames = LabFrames.make(count: 24)
        for frame in frames { try LabFrames.write(frame, to: port) }
        try port.close()
        let captured = try capture.finish()
        #expect(captured.count == frames.count, "wire saw \(captured.count) frames, port wrote \(frames.count)")
        #expect(captured == frames, "frames differ on the wire")
        let rows = try capture.tsharkFields(["vlan.id", "ip.dst"])
        #expect(rows.count == frames.count)
        #expect(rows.filter { !$0[0].isEmpty }.count == frames.indices.filter { $0 % 3 == 1 }.count)
    }

    @Test func interfacePortRebindsWhenItsInterfaceComesBack() throws {
        let lab = try PortLab(collector: false)
        try lab.lab.addNamespace("collector")
        try lab.lab.addVeth("wire0", in: "sidetap", "wire1", in: "collector")
        let port = InterfacePort(name: "nic", interface: "wire0")
        try lab.open(port)
        let frames = LabFrames.make(count: 10)
        for frame in frames.prefix(3) { try LabFrames.write(frame, to: port) }
        try port.flush()

        try lab.lab.ip(["-n", lab.lab.namespace("sidetap"), "link", "del", "wire0"])
        // Frames are batched: the batch's send finds the interface gone, and all three are lost.
        for frame in frames[3..<6] { try LabFrames.write(frame, to: port) }
        var flushCode: Int32?
        do throws(PortWriteError) { try port.flush() } catch { flushCode = error.code }
        #expect(flushCode.map { [ENXIO, ENODEV, ENETDOWN].contains($0) } == true, "flush: \(String(describing: flushCode))")
        #expect(port.lostPackets == 3)
        // Once the port knows (its tick found no interface), writes fail at once.
        var codes: [Int32] = []
        for frame in frames[3..<6] {
            try lab.thread.run { try port.tick(wallNanos: 0) }
            do throws(PortWriteError) { try LabFrames.write(frame, to: port) } catch { codes.append(error.code) }
        }
        #expect(codes == [ENODEV, ENODEV, ENODEV], "writes to a vanished interface fail: \(codes)")

        try lab.lab.addVeth("wire0", in: "sidetap", "wire1", in: "collector")
        let capture = try LabCapture(lab.lab, in: "collector", interface: "wire1", filter: Self.innerFilter)
        try lab.thread.run { try port.tick(wallNanos: 0) }
        #expect(port.rebindCount == 1)
        for frame in frames[6...] { try LabFrames.write(frame, to: port) }
        try port.close()
        #expect(try capture.finish() == Array(frames[6...]), "the re-created interface gets the later frames")
    }

    @Test func interfacePortRefusesAMissingInterfaceAndNonEthernetPackets() throws {
        let lab = try PortLab(collector: false)
        let missing = InterfacePort(name: "nic", interface: "nosuch0")
        #expect(throws: PortSetupError.invalidSetting(port: "nic", reason: "interface 'nosuch0' does not exist")) {
            try lab.open(missing)
        }
        let port = InterfacePort(name: "nic", interface: "lo")
        try lab.open(port)
        #expect(throws: PortWriteError(code: EINVAL, operation: "send")) {
            try LabFrames.write(Array(LabFrames.make(count: 1)[0].dropFirst(14)), to: port, linkType: .raw)
        }
        try port.close()
    }

    // MARK: - TAP port

    @Test func tapPortWritesIntoItsOwnDeviceWhichVanishesOnClose() throws {
        let lab = try PortLab(collector: false)
        let device = lab.lab.interface("tap0")
        let port = TapPort(name: "appliance", device: device)
        #expect(port.egress == PortEgress(port: "appliance", interface: device))
        try lab.open(port)
        #expect(exists(lab, device, in: "sidetap"))
        let state = try lab.lab.ip(["-n", lab.lab.namespace("sidetap"), "link", "show", device])
        #expect(state.contains("UP"), "\(state)")
        let ipv6 = try lab.lab.exec(in: "sidetap", ["cat", "/proc/sys/net/ipv6/conf/\(device)/disable_ipv6"])
        #expect(ipv6.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "IPv6 is off on the TAP")

        // Nobody reads yet: the kernel takes the frame and drops it.
        try LabFrames.write(LabFrames.make(count: 1)[0], to: port)

        // No capture filter: the appliance sees exactly the frames written, nothing of the host's.
        let capture = try LabCapture(lab.lab, in: "sidetap", interface: device, filter: "")
        let frames = LabFrames.make(count: 20)
        for frame in frames { try LabFrames.write(frame, to: port) }
        let captured = try capture.finish()
        #expect(captured.count == frames.count, "TAP reader saw \(captured.count) frames, port wrote \(frames.count)")
        #expect(captured == frames, "frames differ in the TAP device")

        try port.close()
        #expect(!exists(lab, device, in: "sidetap"), "the TAP device is removed on close")
    }

    @Test func tapPortKeepsWorkingAfterItsDeviceMovesIntoAnApplianceNamespace() throws {
        let lab = try PortLab(collector: false)
        try lab.lab.addNamespace("appliance")
        let device = lab.lab.interface("tap1")
        let port = TapPort(name: "appliance", device: device)
        try lab.open(port)
        try lab.lab.ip(["-n", lab.lab.namespace("sidetap"), "link", "set", device, "netns", lab.lab.namespace("appliance")])
        try lab.lab.ip(["-n", lab.lab.namespace("appliance"), "link", "set", device, "up"])
        #expect(exists(lab, device, in: "appliance") && !exists(lab, device, in: "sidetap"))

        let capture = try LabCapture(lab.lab, in: "appliance", interface: device, filter: Self.innerFilter)
        let frames = LabFrames.make(count: 16)
        for frame in frames { try LabFrames.write(frame, to: port) }
        #expect(try capture.finish() == frames, "the appliance namespace reads the frames")

        try port.close()
        #expect(!exists(lab, device, in: "appliance"), "closing removes the device wherever it went")
    }

    @Test func tapPortRecreatesItsDeviceWhenSomeoneDeletesIt() throws {
        let lab = try PortLab(collector: false)
        let device = lab.lab.interface("tap2")
        let port = TapPort(name: "appliance", device: device)
        try lab.open(port)
        let frames = LabFrames.make(count: 8)
        try LabFrames.write(frames[0], to: port)
        try lab.lab.ip(["-n", lab.lab.namespace("sidetap"), "link", "del", device])
        #expect(throws: PortWriteError.self) { try LabFrames.write(frames[1], to: port) }
        try lab.thread.run { try port.tick(wallNanos: 0) }
        #expect(port.recreateCount == 1)
        #expect(exists(lab, device, in: "sidetap"))
        let capture = try LabCapture(lab.lab, in: "sidetap", interface: device, filter: Self.innerFilter)
        for frame in frames[2...] { try LabFrames.write(frame, to: port) }
        #expect(try capture.finish() == Array(frames[2...]))
        try port.close()
        #expect(!exists(lab, device, in: "sidetap"))
    }

    @Test func tapPortRefusesANameThatIsTaken() throws {
        let lab = try PortLab(collector: false)
        let port = TapPort(name: "appliance", device: "lo")
        #expect(throws: PortSetupError.self) { try lab.open(port) }
        let bad = TapPort(name: "appliance", device: "a/b")
        #expect(throws: PortSetupError.self) { try lab.open(bad) }
    }
}
