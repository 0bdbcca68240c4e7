import Foundation
import SidetapCore
import SidetapLabels

/// The top-level `labels:` key: the label-encodings file that gives meaning to the `label:`
/// of sources and the `clearance:` of ports and appliances (docs/security.md, "Labels").
public struct LabelsConfig: Sendable {
    /// The encodings file, absolute.
    public var path: String
    public var encodings: LabelEncodings

    public init(path: String, encodings: LabelEncodings) {
        self.path = path
        self.encodings = encodings
    }
}

extension SidetapConfig {
    /// Who carries which label, or nil when the config has no `labels:` file (then nothing
    /// is labelled and the engine adds no per-packet work). Defaults: a source without a
    /// label carries the lowest label; a port or appliance without a clearance is cleared
    /// for the lowest label only (fail safe).
    public var labelAssignment: LabelAssignment? {
        guard let labels else { return nil }
        let lowest = labels.encodings.lowest
        return LabelAssignment(
            encodings: labels.encodings,
            sources: sources.map { .init(name: $0.name, guest: $0.guest, label: $0.label ?? lowest, addresses: $0.addresses) },
            ports: ports.map { .init(name: $0.name, clearance: $0.clearance ?? lowest) })
    }
}

extension ConfigParser {
    /// Reads the encodings file named by `labels:` (relative to the config's directory);
    /// its problems carry the encodings file's name and line.
    func parseLabels(_ node: ConfigNode) throws(ConfigError) -> LabelsConfig {
        let path = resolve(try node.requireString("labels"), against: base)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw node.error("labels: the label-encodings file \(path) \(reason)")
        }
        do {
            return LabelsConfig(path: path, encodings: try LabelEncodings(parsing: text, file: path))
        } catch {
            throw ConfigError(file: error.file, line: error.line, column: error.line > 0 ? 1 : 0, message: error.reason)
        }
    }

    /// A `label:` or `clearance:` value, read against the encodings.
    func parseLabel(_ node: ConfigNode, _ what: String) throws(ConfigError) -> Label {
        guard let encodings else {
            // The encodings file's own error is reported; do not repeat it for every label.
            if labelsInvalid { return Label(classification: 0) }
            throw node.error("'\(what)' needs a label-encodings file: add 'labels: PATH' at the top of the config")
        }
        let text = try node.requireString(what)
        switch encodings.parse(text) {
        case .success(let label): return label
        case .failure(let problem): throw node.error("\(what): \(problem.reason)")
        }
    }

    /// A source's `addresses:` list: the address blocks its guest owns.
    func parseAddresses(_ node: ConfigNode) throws(ConfigError) -> [AddressBlock] {
        var blocks: [AddressBlock] = []
        for item in try node.requireSequence("addresses") {
            let text = try item.requireString("an address")
            guard let block = AddressBlock(text) else {
                throw item.error("addresses: '\(text)' is not an address or network such as 10.0.0.5/32 or fd00::/64 (host bits must be zero)")
            }
            blocks.append(block)
        }
        return blocks
    }

    /// Address blocks of sources with different labels must not overlap: an address would
    /// then belong to two labels.
    func checkAddressOverlaps(_ sources: [SourceConfig], into errors: inout [ConfigError]) {
        for (i, a) in sources.enumerated() {
            for b in sources[..<i] where (a.label ?? encodings?.lowest) != (b.label ?? encodings?.lowest) {
                for x in a.addresses {
                    if let y = b.addresses.first(where: { $0.overlaps(x) }) {
                        errors.append(ConfigError(file: file, line: a.location.line, column: a.location.column,
                                                  message: "source '\(a.name)': address \(x) overlaps \(y) of source '\(b.name)', which has another label"))
                    }
                }
            }
        }
    }
}
