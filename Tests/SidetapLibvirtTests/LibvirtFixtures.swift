import Foundation

/// A libvirt test-driver node of the test's own: a <node> document with <domain> elements,
/// written to a temporary file and opened as `test:///PATH`. Each connection reads the file
/// afresh, so rewriting it changes "the hypervisor" for the next lookup.
final class TestHypervisor: @unchecked Sendable {
    /// One domain: its name, whether it runs, its interfaces' host devices (nil: none named).
    struct Domain {
        var name: String
        var running: Bool
        var targets: [String?]
    }

    let directory: String
    let path: String
    var uri: String { "test://\(path)" }

    init(_ domains: [Domain]) throws {
        directory = NSTemporaryDirectory() + "stvirt-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/node.xml"
        try write(domains)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Replaces the node's domains (atomically: a lookup never reads half a file).
    func write(_ domains: [Domain]) throws {
        var xml = "<node>\n"
        for domain in domains {
            xml += "  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
            xml += "    <name>\(domain.name)</name>\n    <memory>65536</memory>\n    <os><type>hvm</type></os>\n"
            if !domain.running { xml += "    <test:runstate>5</test:runstate>\n" }
            xml += "    <devices>\n"
            for (i, target) in domain.targets.enumerated() {
                let mac = String(format: "52:54:00:77:76:%02x", i + 1)
                xml += "      <interface type='ethernet'><mac address='\(mac)'/>"
                    + (target.map { "<target dev='\($0)'/>" } ?? "") + "</interface>\n"
            }
            xml += "    </devices>\n  </domain>\n"
        }
        xml += "</node>\n"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
