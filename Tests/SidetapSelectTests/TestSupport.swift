import Foundation
import SidetapCore
import SidetapPcap
import SidetapSelect
import SidetapTestKit
import Testing

/// Locating the corpus, running tcpdump, and running a selector over a capture file.
enum Support {
    static let repositoryRoot = TestPaths.repositoryRoot

    static func corpusFile(_ name: String) throws -> String {
        let path = try TestPaths.requireCorpus() + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw SupportError("corpus file \(name) missing") }
        return path
    }

    static func corpusFiles() throws -> [String] { try TestPaths.corpusFiles() }

    /// `tcpdump -r FILE --count EXPR`: the number of packets libpcap's filter accepts.
    static func tcpdumpCount(_ path: String, _ expression: String) throws -> Int {
        let text = try ExternalTool.run("/usr/bin/tcpdump", ["-r", path, "--count"] + (expression.isEmpty ? [] : [expression])).stdout
        guard let line = text.split(separator: "\n").last(where: { $0.hasSuffix("packets") || $0.hasSuffix("packet") }),
              let count = Int(line.split(separator: " ")[0]) else {
            throw SupportError("tcpdump -r \(path) --count '\(expression)' printed no count: \(text)")
        }
        return count
    }

    static func source(for path: String, linkType: LinkType, snaplen: Int, name: String = "file", guest: String? = "guest1") -> SourceDescription {
        SourceDescription(name: name, guest: guest, linkType: linkType, snaplen: snaplen, origin: path)
    }

    static func link(of path: String) throws -> (LinkType, Int) {
        let capture = try OfflineCapture(path: path)
        defer { capture.close() }
        return (capture.linkType, capture.snaplen)
    }

    static func port(_ name: String, _ text: String, sample: Int? = nil, slice: Int? = nil, group: String? = nil) -> PortRules {
        PortRules(name: name, rulesFile: "\(name).rules", text: text, sample: sample, slice: slice, group: group)
    }
}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What one pass of a selector over a capture produced.
struct SelectionRun {
    /// Packets libpcap delivered.
    var delivered = 0
    /// Accepted packets per port.
    var accepted: [Int]
    /// Per packet: the selected ports and each selected port's slice length.
    var decisions: [UInt64] = []
    var slices: [[UInt32]] = []
    /// Per packet: the flow's symmetric hash and the decoded packet (for flow-level checks).
    var hashes: [UInt32] = []
    var keys: [FlowKey] = []
    var readError: String?

    init(portCount: Int) { accepted = Array(repeating: 0, count: portCount) }
}

extension Selector {
    /// Reads `path` with libpcap, decodes each packet and selects it.
    func run(_ path: String, sourceIndex: UInt16 = 0, direction: PacketDirection = .unknown, keep: Bool = true) throws -> SelectionRun {
        let capture = try OfflineCapture(path: path)
        defer { capture.close() }
        var run = SelectionRun(portCount: rules.ports.count)
        var decoded = DecodedPacket()
        loop: while true {
            switch capture.next() {
            case .packet(var packet):
                packet.sourceIndex = sourceIndex
                packet.direction = direction
                PacketDecoder.decode(packet.bytes, linkType: capture.linkType, into: &decoded)
                let (key, reversed) = FlowKey.make(decoded)
                let hash = key.symmetricHash
                let set = select(packet, decoded: decoded, flow: key, reversed: reversed, hash: hash)
                run.delivered += 1
                for port in set { run.accepted[port] += 1 }
                if keep {
                    run.decisions.append(set.rawValue)
                    run.slices.append(set.map { sliceLength(port: $0) })
                    run.hashes.append(hash)
                    run.keys.append(key)
                }
            case .end:
                break loop
            case .error(let message):
                run.readError = message
                break loop
            }
        }
        publishCounters()
        return run
    }
}

/// Compiles `ports` for the link type of `path` and runs them over it.
func select(_ path: String, _ ports: [PortRules], flowCacheSize: Int = 65536) throws -> SelectionRun {
    let (linkType, snaplen) = try Support.link(of: path)
    let rules = try CompiledRuleSet(ports: ports, sources: [Support.source(for: path, linkType: linkType, snaplen: snaplen)])
    return try Selector(rules, flowCacheSize: flowCacheSize).run(path)
}
