import Foundation
import SidetapLabels

/// The labels part of `sidetap check`: each source's label, and per port its clearance, the
/// sources it can ever receive from, and warnings for ports and rules that can never deliver
/// anything because of the port's clearance.
enum LabelCheck {
    /// Report lines and warnings; nothing when the config has no labels.
    static func report(_ config: SidetapConfig) -> (lines: [String], warnings: [String]) {
        guard let labels = config.labels, let assignment = config.labelAssignment else { return ([], []) }
        let e = labels.encodings
        var lines: [String] = []
        var warnings: [String] = []
        lines.append("  ok   labels \(labels.path): \(e.classifications.count) classification(s), \(e.compartments.count) compartment(s)"
            + (e.combinations.isEmpty ? "" : ", \(e.combinations.count) valid combination(s)"))
        for source in assignment.sources {
            lines.append("       source \(source.name): label \(e.describe(source.label))"
                + (source.addresses.isEmpty ? "" : "; owns " + source.addresses.map(\.description).joined(separator: ", ")))
        }
        for (p, port) in assignment.ports.enumerated() {
            let clearance = port.clearance
            var all: [String] = []
            var some: [String] = []
            var never: [String] = []
            for (s, source) in assignment.sources.enumerated() {
                if !clearance.dominates(source.label) {
                    never.append("\(source.name) (\(e.describe(source.label)))")
                    continue
                }
                // With guest addresses a packet carries the join of its source's label and
                // its address owners' labels: some of a source's flows may be above the port.
                let above = assignment.possibleLabels(ofSource: s).filter { !clearance.dominates($0) }
                if above.isEmpty {
                    all.append(source.name)
                } else {
                    let owners = assignment.sources.filter { !$0.addresses.isEmpty && !clearance.dominates($0.label) }.map(\.name)
                    some.append("\(source.name) (except flows touching the addresses of \(owners.joined(separator: ", ")))")
                }
            }
            var text = "       port \(port.name): clearance \(e.describe(clearance)); receives from "
            let receives = all + some
            text += receives.isEmpty ? "no source" : receives.joined(separator: ", ")
            if !never.isEmpty { text += "; never from " + never.joined(separator: ", ") }
            lines.append(text)
            let location = config.ports[p].location
            if receives.isEmpty {
                warnings.append("\(location): port '\(port.name)': its clearance \(e.describe(clearance)) dominates no source's label: it can never receive anything")
                continue
            }
            for rule in RuleRestrictions.scan(config.ports[p].rules) {
                let candidates = config.sources.enumerated().filter { _, source in
                    (rule.sources.map { $0.contains(source.name) } ?? true)
                        && (rule.guests.map { names in source.guest.map { names.contains($0) } ?? false } ?? true)
                }
                guard !candidates.isEmpty else { continue }   // unknown names: the rules compiler reports them
                if candidates.allSatisfy({ !clearance.dominates(assignment.sources[$0.offset].label) }) {
                    let names = candidates.map { "\($0.element.name) (\(e.describe(assignment.sources[$0.offset].label)))" }
                    warnings.append("\(config.ports[p].rules):\(rule.line): port '\(port.name)': this rule accepts only packets of "
                        + names.joined(separator: ", ") + ", which its clearance \(e.describe(clearance)) does not dominate: it can never deliver anything")
                }
            }
        }
        return (lines, warnings)
    }
}

/// The `source` and `guest` restrictions of a rules file's accept rules, read from the text
/// (not negated; a rule's restrictions all hold at once). Only what the label check needs.
struct RuleRestrictions {
    var line: Int
    var sources: Set<String>?
    var guests: Set<String>?

    static func scan(_ path: String) -> [RuleRestrictions] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var result: [RuleRestrictions] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Drop quoted strings (pcap expressions) and the comment.
            var plain = ""
            var quoted = false
            var escaped = false
            for c in raw {
                if quoted {
                    if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
                    continue
                }
                if c == "\"" { quoted = true; plain.append(" "); continue }
                if c == "#" { break }
                plain.append(c)
            }
            // A list may continue after a comma and blanks: join "a, b" into "a,b".
            var words: [String] = []
            for word in plain.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init) {
                if let last = words.last, last.hasSuffix(",") || word.hasPrefix(",") { words[words.count - 1] = last + word } else { words.append(word) }
            }
            guard words.first == "accept" else { continue }
            var rule = RuleRestrictions(line: index + 1)
            for (i, word) in words.enumerated() where (word == "source" || word == "guest") && i + 1 < words.count && words[i - 1] != "not" {
                let names = Set(words[i + 1].split(separator: ",").map(String.init))
                if word == "source" {
                    rule.sources = rule.sources.map { $0.intersection(names) } ?? names
                } else {
                    rule.guests = rule.guests.map { $0.intersection(names) } ?? names
                }
            }
            if rule.sources != nil || rule.guests != nil { result.append(rule) }
        }
        return result
    }
}
