import SidetapCore

/// Where a network port sends its frames, as the config gives it (collectors are resolved
/// when the engine is built).
public enum NetworkTarget: Sendable, Equatable {
    /// `kind: interface`: frames as they are onto a NIC.
    case interface(String)
    /// `kind: tap`: a TAP device Sidetap creates.
    case tap(device: String)
    /// `kind: vxlan`: UDP to collector:port with a VNI; `sourcePort` nil = from the flow hash.
    case vxlan(collector: String, port: UInt16, vni: UInt32, sourcePort: UInt16?)
    /// `kind: gre`: GRE (0x6558) with an optional key and optional sequence numbers.
    case gre(collector: String, key: UInt32?, sequence: Bool)
    /// `kind: erspan`: ERSPAN type II with a session id (0–1023) and an index.
    case erspan(collector: String, session: UInt16, index: UInt32)

    /// The collector host or address of a tunnel, nil for interface and TAP ports.
    public var collector: String? {
        switch self {
        case .interface, .tap: nil
        case .vxlan(let collector, _, _, _), .gre(let collector, _, _), .erspan(let collector, _, _): collector
        }
    }
}

extension PortKind {
    /// True for kinds that write capture files or streams (and so use format and precision).
    public var writesCaptureFormat: Bool { self == .file || self == .stream || self == .socket }
    /// True for the network kinds.
    public var isNetwork: Bool { !writesCaptureFormat && self != .discard }
}

extension ConfigParser {
    /// Every key a network port kind takes, and which kinds take it.
    static let networkKeyKinds: [(key: String, kinds: [PortKind])] = [
        ("interface", [.interface]), ("device", [.tap]), ("collector", [.vxlan, .gre, .erspan]),
        ("port", [.vxlan]), ("vni", [.vxlan]), ("source_port", [.vxlan]), ("key", [.gre]),
        ("sequence", [.gre]), ("session", [.erspan]), ("index", [.erspan]),
    ]
    static var networkKeys: [String] { networkKeyKinds.map(\.key) }

    /// The network target of a port of `kind`, checking that only the kind's own keys appear;
    /// nil for file, stream and discard ports (which must not carry network keys).
    func parseNetworkTarget(_ kind: PortKind, _ m: MappingReader, _ node: ConfigNode) throws(ConfigError) -> NetworkTarget? {
        for (key, kinds) in Self.networkKeyKinds where !kinds.contains(kind) {
            if let value = m[key] {
                let owners = kinds.map(\.rawValue).joined(separator: ", ")
                throw value.error("'\(key)' applies to \(owners) ports, not to a \(kind.rawValue) port")
            }
        }
        guard kind.isNetwork else { return nil }
        for key in ["path", "format", "precision", "comment"] {
            if let value = m[key] {
                throw value.error("a \(kind.rawValue) port sends frames on the network, not a capture file; '\(key)' does not apply")
            }
        }
        switch kind {
        case .interface:
            guard let value = m["interface"] else { throw node.error("an interface port needs 'interface', the NIC to send on") }
            return .interface(try interfaceName(value, "interface"))
        case .tap:
            guard let value = m["device"] else { throw node.error("a tap port needs 'device', the name of the TAP device to create") }
            return .tap(device: try interfaceName(value, "device"))
        case .vxlan:
            let collector = try collector(m, node, kind)
            let port = try m["port"].map { value throws(ConfigError) in UInt16(try value.requireInt("port", range: 1...65535)) } ?? 4789
            guard let vniNode = m["vni"] else { throw node.error("a vxlan port needs 'vni', its VXLAN network identifier (0–16777215)") }
            let vni = UInt32(try vniNode.requireInt("vni", range: 0...0xFF_FFFF))
            var sourcePort: UInt16? = nil
            if let value = m["source_port"], value.string != "flow" {
                guard let number = value.string.flatMap({ Int($0.trimmingSpaces) }), (1...65535).contains(number) else {
                    throw value.error("source_port must be 'flow' (from the inner flow hash) or a port between 1 and 65535, got \(value.describe)")
                }
                sourcePort = UInt16(number)
            }
            return .vxlan(collector: collector, port: port, vni: vni, sourcePort: sourcePort)
        case .gre:
            let collector = try collector(m, node, kind)
            let key = try m["key"].map { value throws(ConfigError) in UInt32(try value.requireInt("key", range: 0...0xFFFF_FFFF)) }
            let sequence = try m["sequence"].map { value throws(ConfigError) in
                try value.requireChoice("sequence", [("true", true), ("false", false), ("yes", true), ("no", false)])
            } ?? false
            return .gre(collector: collector, key: key, sequence: sequence)
        case .erspan:
            let collector = try collector(m, node, kind)
            guard let sessionNode = m["session"] else { throw node.error("an erspan port needs 'session', its ERSPAN session id (0–1023)") }
            let session = UInt16(try sessionNode.requireInt("session", range: 0...1023))
            let index = try m["index"].map { value throws(ConfigError) in UInt32(try value.requireInt("index", range: 0...0xF_FFFF)) } ?? 0
            return .erspan(collector: collector, session: session, index: index)
        case .file, .stream, .discard, .socket:
            return nil
        }
    }

    /// An interface or device name: 1–15 characters, no '/', ':' or spaces.
    func interfaceName(_ node: ConfigNode, _ what: String) throws(ConfigError) -> String {
        let value = try node.requireString(what)
        let bytes = Array(value.utf8)
        guard bytes.count <= 15, value != ".", value != "..",
              !bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 >= 0x7F }) else {
            throw node.error("\(what) '\(value)' is not an interface name (1–15 characters, no '/', ':' or spaces)")
        }
        return value
    }

    /// A collector: an IPv4 or IPv6 address, or a host name resolved when the engine starts.
    func collector(_ m: MappingReader, _ node: ConfigNode, _ kind: PortKind) throws(ConfigError) -> String {
        guard let value = m["collector"] else {
            throw node.error("a \(kind.rawValue) port needs 'collector', the address or host name of the receiving end")
        }
        let text = try value.requireString("collector")
        if IPAddress(text) != nil { return text }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        let validName = text.utf8.count <= 253 && !labels.isEmpty && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        // All-digit dotted text that did not parse as an address is a mistyped address.
        guard validName, !text.allSatisfy({ $0.isNumber || $0 == "." }) else {
            throw value.error("collector must be an IPv4 or IPv6 address or a host name, got \(value.describe)")
        }
        return text
    }
}
