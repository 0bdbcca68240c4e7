import Foundation
import SidetapCore
import SidetapTestKit

/// Runs a tool and returns its standard output, throwing when it fails.
func run(_ executable: String, _ arguments: [String]) throws -> String {
    try ExternalTool.output(executable, arguments)
}

/// Number of packets tshark shows for a display filter.
func tsharkCount(_ path: String, _ filter: String, options: [String] = []) throws -> Int {
    let text = try run("/usr/bin/tshark", ["-n", "-r", path] + options + ["-Y", filter, "-T", "fields", "-e", "frame.number"])
    return text.split(separator: "\n").count
}

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "sidetap-traffic-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension IPAddress {
    /// True inside 10.0.0.0/8 (IPv4) or fd00::/16 (IPv6).
    var isGeneratedRange: Bool {
        isIPv4 ? ipv4Value >> 24 == 10 : high >> 48 == 0xFD00
    }

    /// The IPv4 /24 or IPv6 /64 network, for classifying east-west and north-south.
    func inIPv4Network(_ prefix: UInt32, bits: Int) -> Bool {
        isIPv4 && ipv4Value >> UInt32(32 - bits) == prefix >> UInt32(32 - bits)
    }
}
