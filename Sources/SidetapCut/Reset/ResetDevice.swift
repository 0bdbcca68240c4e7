#if canImport(Glibc)
import Glibc
#endif

/// Which device a reset is sent on, so that each RST reaches its endpoint.
///
/// An AF_PACKET frame sent on a bridge *port* leaves through that port only, while one sent
/// on a *bridge* device goes through the bridge's forwarding database, which sends it out of
/// the port the destination MAC was learnt on (or floods it when unknown). So:
/// - capturing on a bridge: send on the bridge; the FDB delivers each RST to its endpoint's port;
/// - capturing on a port of a bridge (a guest's host-side veth or TAP): send on its master
///   bridge, not on the port: the RST toward the guest still leaves through the guest's port
///   (the FDB learnt the guest's MAC there), and the RST toward the other endpoint reaches it
///   wherever it is on the bridge — sent on the port it would only reach the guest;
/// - any other interface (a NIC, a routed veth, a port of a bond or VRF master): send on the
///   interface itself.
/// Frames sent on a bridge device are not learnt by the bridge, so the endpoints' source MACs
/// in the RSTs do not move FDB entries.
public enum ResetDevice {
    /// The device to send on for a flow captured on `interface`; `sysfs` is /sys/class/net.
    public static func device(for interface: String, sysfs: String = "/sys/class/net") -> String {
        let master = sysfs + "/" + interface + "/master"
        guard let target = linkTarget(master) else { return interface }
        // The master's name is the link target's last component; only a bridge forwards by FDB.
        let name = String(target.split(separator: "/").last ?? Substring(interface))
        guard isDirectory(sysfs + "/" + name + "/bridge") else { return interface }
        return name
    }

    static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
