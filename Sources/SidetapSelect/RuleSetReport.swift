import SidetapCore
import SidetapPcap

extension CompiledRuleSet {
    /// A text report for `sidetap check`: per port its options, each rule with its line and
    /// whether it is decided once per flow (cached) or per packet, and the shared pcap programs.
    public func report() -> String {
        var lines: [String] = []
        for (p, port) in compiledPorts.enumerated() {
            var head = "port \(port.rules.name) (\(port.rules.rulesFile))"
            if let sample = port.rules.sample { head += " sample 1/\(sample)" }
            if let slice = port.rules.slice { head += " slice \(slice)" }
            if let group = port.groupName {
                head += " group \(group) (member \(port.memberIndex + 1) of \(port.memberCount))"
            }
            lines.append(head)
            let perPacket = port.perPacketRules.count
            let flowOnly = port.ruleCount - perPacket
            var summary = "  \(port.ruleCount) rule\(port.ruleCount == 1 ? "" : "s"): \(flowOnly) flow-cached, \(perPacket) per-packet"
            if !port.cacheable {
                summary += " (more than \(Self.maximumCachedPerPacketRules) per-packet rules: every rule runs for every packet)"
            }
            lines.append(summary)
            for r in port.firstRule..<(port.firstRule + port.ruleCount) {
                let rule = rules[r]
                var cost: String
                if rule.isPerPacket {
                    var parts: [String] = []
                    for t in rule.packetTerms {
                        let term = packetTerms[t]
                        if term.kind == .flags {
                            parts.append("tcp flags")
                        } else {
                            let base = Int(term.pcapIndex) * linkTypes.count
                            let counts = programs[base..<(base + linkTypes.count)].map { $0.map { "\($0.instructionCount)" } ?? "never matches" }
                            parts.append("pcap #\(term.pcapIndex + 1) (BPF instructions: \(counts.joined(separator: "/")))")
                        }
                    }
                    cost = "per-packet: " + parts.joined(separator: ", ")
                } else {
                    cost = "flow-cached"
                }
                lines.append("  line \(rule.line): \(rule.text)  [\(cost)]")
            }
            lines.append("  otherwise: reject")
            if p < compiledPorts.count - 1 { lines.append("") }
        }
        if !pcapExpressions.isEmpty {
            lines.append("")
            lines.append("pcap expressions (each compiled once per link type: \(linkTypes.map(\.description).joined(separator: ", ")); run at most once per packet):")
            for (i, expression) in pcapExpressions.enumerated() {
                let users = rules.filter { rule in
                    rule.packetTerms.contains { packetTerms[$0].kind == .pcap && packetTerms[$0].pcapIndex == i }
                }.count
                lines.append("  #\(i + 1) \"\(expression)\" used by \(users) rule\(users == 1 ? "" : "s")")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
