import Foundation
import SidetapCut
import Testing

@Suite struct ResetDeviceTests {
    /// A fake /sys/class/net: br0 is a bridge with port vnet0, bond0 a bond with port eth1.
    @Test func bridgePortsSendOnTheirBridgeOtherInterfacesOnThemselves() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sidetap-resetdevice-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        for name in ["br0/bridge", "vnet0", "bond0/bonding", "eth1", "eth0"] {
            try fm.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
        }
        try fm.createSymbolicLink(atPath: root + "/vnet0/master", withDestinationPath: "../../devices/virtual/net/br0")
        try fm.createSymbolicLink(atPath: root + "/eth1/master", withDestinationPath: "../../devices/virtual/net/bond0")
        #expect(ResetDevice.device(for: "vnet0", sysfs: root) == "br0")
        #expect(ResetDevice.device(for: "br0", sysfs: root) == "br0")
        #expect(ResetDevice.device(for: "eth1", sysfs: root) == "eth1")
        #expect(ResetDevice.device(for: "eth0", sysfs: root) == "eth0")
        #expect(ResetDevice.device(for: "missing", sysfs: root) == "missing")
    }
}
