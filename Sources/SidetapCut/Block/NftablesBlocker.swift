import Foundation
import SidetapCore
import Synchronization

/// Blocks traffic with nftables, in two tables Sidetap owns (`inet NAME` for routed and local
/// traffic, `bridge NAME` for frames crossing a Linux bridge, which only the bridge family
/// sees), so a block holds whichever way a guest's traffic travels.
///
/// Blocks are elements of sets with per-element timeouts: the kernel removes each one when
/// its TTL ends, whether or not Sidetap still runs. Layout and rules: `NftablesRuleset`.
///
/// Design notes, checked against nftables 1.0.6 on Linux 6.18:
/// - Networks live in single-field `flags interval, timeout` sets (`net4`, `net6`) matched on
///   source and on destination address. Concatenated sets with `interval, timeout` also
///   work on this kernel, but a single field per family keeps the rules and listings simple.
///   The kernel's interval sets hold no overlapping ranges: blocking 10.0.0.0/8 while
///   10.1.0.0/16 is blocked (or the reverse) fails with nft's "interval overlaps" error,
///   reported as `CutError.failed`; re-blocking the same network just renews its TTL.
/// - Flows are exact elements, added in both directions (`flow4`/`flow6` with ports,
///   `pair4`/`pair6` without), so one lookup per rule matches either direction.
/// - nft 1.0.6 has no `destroy`; "delete if present" is written as `add` then `delete` in one
///   transaction, and a TTL is renewed as `add`, `delete`, `add … timeout` in one transaction.
/// - VLAN-tagged frames crossing a bridge are not matched (the bridge family sees them as
///   802.1Q, not IP).
///
/// Commands go through libnftables in-process (`NftablesCommand`): no `nft` program and no
/// shell, so a block still works after `sidetap run --user` dropped every capability but
/// CAP_NET_ADMIN. Every element is built from typed values. Calls are serialized.
public final class NftablesBlocker: TrafficBlocker {
    /// The name of both tables.
    public let tableName: String
    /// The network namespace the rules go into (nil: the caller's own).
    public let namespace: String?
    private let ruleset: NftablesRuleset
    private let serial = Mutex(())

    /// A blocker using tables named `tableName` (letters, digits, `_`; up to 32 characters,
    /// starting with a letter), inside network namespace `namespace` when given (a name under
    /// /run/netns, as `ip netns add` makes; entering it needs CAP_SYS_ADMIN). Nothing is
    /// installed until the first block. Throws `CutError.failed` for an invalid table or
    /// namespace name.
    public init(tableName: String = "sidetap", namespace: String? = nil) throws {
        guard Self.isValidTableName(tableName) else {
            throw CutError.failed(operation: "nftables blocker", reason: "table name \"\(tableName)\" is not 1–32 letters, digits or _ starting with a letter")
        }
        if let namespace {
            guard Self.isValidNamespaceName(namespace) else {
                throw CutError.failed(operation: "nftables blocker", reason: "namespace name \"\(namespace)\" is not 1–64 letters, digits, _, - or .")
            }
        }
        self.tableName = tableName
        self.namespace = namespace
        self.ruleset = NftablesRuleset(tableName: tableName)
    }

    /// Creates (or repairs) both tables without adding a block; idempotent.
    public func install() throws {
        try serial.withLock { _ in
            try command().apply(ruleset.install(), operation: "install nftables tables \(tableName)")
        }
    }

    /// Drops the target's traffic for `ttlSeconds` (1 s to one year), replacing any earlier TTL
    /// for the same target. Installs the tables in the same transaction.
    public func block(_ target: BlockTarget, ttlSeconds: Int) throws {
        let elements = try BlockElements(target)
        try BlockElements.validate(ttlSeconds: ttlSeconds, for: target)
        try serial.withLock { _ in
            let text = ruleset.install() + ruleset.add(elements, ttlSeconds: ttlSeconds)
            do {
                try command().apply(text, operation: "block \(target)")
            } catch CutError.failed(let operation, let reason) where reason.contains("interval overlaps") {
                throw CutError.failed(operation: operation, reason: "the network overlaps a different network that is already blocked (nftables interval sets hold no overlapping ranges); unblock that one first")
            }
        }
    }

    /// Lifts a block now; lifting one that is not there is not an error.
    public func unblock(_ target: BlockTarget) throws {
        let elements = try BlockElements(target)
        try serial.withLock { _ in
            let nft = command()
            let present = try tables(nft)
            let families = NftablesRuleset.families.filter { present.contains("\($0) \(tableName)") }
            guard !families.isEmpty else { return }
            do {
                try nft.apply(ruleset.remove(elements, families: families), operation: "unblock \(target)")
            } catch {
                // The add-then-delete idiom fails for a network that is absent but overlaps
                // another blocked network; absent means there is nothing to lift.
                let normalized = try Self.normalized(target)
                if try listing(nft).contains(where: { $0.target == normalized }) { throw error }
            }
        }
    }

    /// Deletes both of Sidetap's tables (every block with them); other tables are untouched.
    public func removeAll() throws {
        try serial.withLock { _ in
            try command().apply(ruleset.deleteTables(), operation: "remove nftables tables \(tableName)")
        }
    }

    /// The blocks the kernel still holds and the whole seconds each has left, read from the
    /// `inet` table (the `bridge` table gets the same elements in the same transactions).
    /// Flows come back in canonical order with VLAN 0xFFFF; networks with host bits cleared.
    public func activeBlocks() throws -> [(target: BlockTarget, secondsLeft: Int)] {
        try serial.withLock { _ in
            try listing(command())
        }
    }

    /// The target as `activeBlocks` reports it (canonical flow order, VLAN 0xFFFF, network
    /// host bits cleared), for comparing a target with a listing.
    public static func normalized(_ target: BlockTarget) throws -> BlockTarget {
        switch target {
        case .network(let address, let prefixLength):
            let network = try BlockElements.network(address, prefixLength: prefixLength)
            return .network(network.address, prefixLength: network.prefixLength)
        case .flow(var key):
            key.vlan = 0xFFFF
            if !BlockElements.protocolsWithPorts.contains(key.ipProtocol) || (key.lowerPort == 0 && key.upperPort == 0) {
                key.lowerPort = 0
                key.upperPort = 0
            }
            if key.upperAddress < key.lowerAddress || (key.upperAddress == key.lowerAddress && key.upperPort < key.lowerPort) {
                swap(&key.lowerAddress, &key.upperAddress)
                swap(&key.lowerPort, &key.upperPort)
            }
            return .flow(key)
        }
    }

    private func listing(_ nft: NftablesCommand) throws -> [(target: BlockTarget, secondsLeft: Int)] {
        guard try tables(nft).contains("inet \(tableName)") else { return [] }
        return try NftablesListing.parse(nft.json(["list", "table", "inet", tableName], operation: "list blocks"))
    }

    private func tables(_ nft: NftablesCommand) throws -> Set<String> {
        try NftablesListing.tables(nft.json(["list", "tables"], operation: "list tables"))
    }

    private func command() -> NftablesCommand {
        NftablesCommand(namespace: namespace)
    }

    static func isValidTableName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 32, isLetter(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    static func isValidNamespaceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 64, name != ".", name != ".." else { return false }
        return bytes.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
