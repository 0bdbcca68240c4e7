/// The nftables text Sidetap sends to `nft -f -`: its own two tables, and the element
/// changes that add and lift blocks. Pure text, built from validated names and typed values.
///
/// Layout (the same in the `inet` table and the `bridge` table, both named `tableName`):
/// - sets `flow4`/`flow6` (`addr . inet_proto . inet_service . addr . inet_service`,
///   `flags timeout`), `pair4`/`pair6` (`addr . inet_proto . addr`, `flags timeout`) and
///   `net4`/`net6` (`ipv4_addr`/`ipv6_addr`, `flags interval, timeout`);
/// - a regular chain `blocks` whose rules drop a packet matching any set (networks on source
///   and on destination address);
/// - base chains that jump to `blocks`: `input`, `forward`, `output` in `inet` (routed and
///   local traffic) and `forward`, `input`, `output` in `bridge` (frames crossing or reaching a
///   Linux bridge, which the `inet` hooks never see).
///
/// Every element carries its own timeout, so the kernel drops it when the TTL ends whether or
/// not Sidetap still runs. Both tables get the same elements in the same transaction.
struct NftablesRuleset: Sendable {
    /// The name of both tables.
    let tableName: String

    /// The families Sidetap keeps a table in.
    static let families = ["inet", "bridge"]

    /// The sets and their declarations.
    static let sets: [(name: String, declaration: String)] = [
        ("flow4", "type ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service; flags timeout;"),
        ("flow6", "type ipv6_addr . inet_proto . inet_service . ipv6_addr . inet_service; flags timeout;"),
        ("pair4", "type ipv4_addr . inet_proto . ipv4_addr; flags timeout;"),
        ("pair6", "type ipv6_addr . inet_proto . ipv6_addr; flags timeout;"),
        ("net4", "type ipv4_addr; flags interval, timeout;"),
        ("net6", "type ipv6_addr; flags interval, timeout;"),
    ]

    /// The rules of the `blocks` chain.
    static let blockRules = [
        "ip saddr . meta l4proto . th sport . ip daddr . th dport @flow4 drop",
        "ip6 saddr . meta l4proto . th sport . ip6 daddr . th dport @flow6 drop",
        "ip saddr . meta l4proto . ip daddr @pair4 drop",
        "ip6 saddr . meta l4proto . ip6 daddr @pair6 drop",
        "ip saddr @net4 drop",
        "ip daddr @net4 drop",
        "ip6 saddr @net6 drop",
        "ip6 daddr @net6 drop",
    ]

    /// Base chains per family: hook and priority. In `inet`, -10 runs just before the
    /// customary filter chains (priority 0); in `bridge`, -200 is the filter priority. A drop
    /// in any table is final, so another table's `accept` cannot undo a block.
    static func hooks(_ family: String) -> [(hook: String, priority: Int)] {
        family == "bridge"
            ? [("forward", -200), ("input", -200), ("output", -200)]
            : [("input", -10), ("forward", -10), ("output", -10)]
    }

    /// Creates both tables, or brings existing ones back to this layout, keeping the elements
    /// of existing sets (so blocks outlive a Sidetap restart). Idempotent: `add` of an existing
    /// table, set or chain is a no-op, and each chain is flushed before its rules are added.
    /// Touches nothing outside Sidetap's own tables.
    func install() -> String {
        var lines: [String] = []
        for family in Self.families {
            let table = "\(family) \(tableName)"
            lines.append("add table \(table)")
            for set in Self.sets {
                lines.append("add set \(table) \(set.name) { \(set.declaration) }")
            }
            lines.append("add chain \(table) blocks")
            for (hook, priority) in Self.hooks(family) {
                lines.append("add chain \(table) \(hook) { type filter hook \(hook) priority \(priority); policy accept; }")
                lines.append("flush chain \(table) \(hook)")
            }
            lines.append("flush chain \(table) blocks")
            for rule in Self.blockRules { lines.append("add rule \(table) blocks \(rule)") }
            for (hook, _) in Self.hooks(family) { lines.append("add rule \(table) \(hook) jump blocks") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Adds the elements with a fresh timeout. An element that already exists gets the new
    /// timeout: `add` (a no-op when present), `delete`, then `add … timeout`, all in one
    /// transaction, so the block never lapses in between.
    func add(_ elements: BlockElements, ttlSeconds: Int) -> String {
        var lines: [String] = []
        for family in Self.families {
            for element in unique(elements) {
                let set = "\(family) \(tableName) \(element.set)"
                lines.append("add element \(set) { \(element.key) }")
                lines.append("delete element \(set) { \(element.key) }")
                lines.append("add element \(set) { \(element.key) timeout \(ttlSeconds)s }")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Removes the elements from the families given; one that is absent is first added (without
    /// a timeout) so the delete cannot fail, and is gone again when the transaction commits.
    func remove(_ elements: BlockElements, families: [String]) -> String {
        var lines: [String] = []
        for family in families {
            for element in unique(elements) {
                let set = "\(family) \(tableName) \(element.set)"
                lines.append("add element \(set) { \(element.key) }")
                lines.append("delete element \(set) { \(element.key) }")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Deletes both tables; `add table` first makes the delete succeed when one is absent.
    func deleteTables() -> String {
        Self.families.map { "add table \($0) \(tableName)\ndelete table \($0) \(tableName)\n" }.joined()
    }

    private func unique(_ elements: BlockElements) -> [BlockElements.Element] {
        var seen = Set<BlockElements.Element>()
        return elements.elements.filter { seen.insert($0).inserted }
    }
}
