import SidetapCore

/// A parsed rule, before names are resolved and pcap expressions compiled.
struct RuleSyntax {
    /// 1-based line in the rules file.
    var line: Int
    /// `accept` or `reject`.
    var accept: Bool
    /// The match terms, all of which must hold.
    var terms: [TermSyntax]
    /// `sample 1/N`: N, when given.
    var sample: Int?
    /// `slice N`: N, when given.
    var slice: Int?
    /// The rule re-printed from its tokens (comments and extra blanks removed).
    var text: String
}

/// One match term, possibly negated with `not`.
struct TermSyntax {
    var negated: Bool
    /// Column of the term's keyword (of `not` when negated).
    var column: Int
    var match: MatchSyntax
}

/// Which end of the packet an address or port term looks at.
enum Endpoint: Sendable {
    case source, destination, either
}

/// A name with the column it was written at (source and guest names are checked later).
struct NamedValue {
    var name: String
    var column: Int
}

/// What a term matches, as written.
enum MatchSyntax {
    /// `any`: everything.
    case any
    /// `ip` (4) or `ip6` (6).
    case ipVersion(UInt8)
    /// `tcp`, `udp`, `sctp`, `proto N` (version 0 = either), `icmp` (4), `icmp6` (6).
    case ipProtocol(version: UInt8, number: UInt8)
    /// `src`, `dst`, `host`.
    case address(Endpoint, [CIDR])
    /// `sport`, `dport`, `port`.
    case port(Endpoint, [ClosedRange<UInt16>])
    /// `vlan N,…` (outer tag).
    case vlan([UInt16])
    /// `vlan none`.
    case untagged
    /// `flags a,!b`.
    case tcpFlags(set: TCPFlags, clear: TCPFlags)
    /// `direction in|out`.
    case direction(PacketDirection)
    /// `source NAME,…`.
    case source([NamedValue])
    /// `guest NAME,…`.
    case guest([NamedValue])
    /// `pcap "EXPR"`.
    case pcap(String)

    /// True for terms that need the packet itself rather than its flow.
    var isPerPacket: Bool {
        switch self {
        case .tcpFlags, .pcap: true
        default: false
        }
    }
}
