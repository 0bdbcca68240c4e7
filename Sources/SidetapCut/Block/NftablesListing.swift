import Foundation
import SidetapCore

/// Reads the blocks back out of `nft -j -n list table …` JSON: each element of Sidetap's sets
/// becomes a `BlockTarget` with the seconds the kernel still keeps it.
///
/// A flow's two directions (two elements) fold into one `.flow` whose `FlowKey` is in
/// canonical order (lower address and port first) with VLAN 0xFFFF, since blocks ignore VLANs.
/// Networks come back with host bits cleared. Elements without a timeout (Sidetap never
/// commits one) and ranges that are not a single prefix are skipped.
enum NftablesListing {
    /// One block the kernel holds.
    typealias Entry = (target: BlockTarget, secondsLeft: Int)

    /// Parses a listing; throws `CutError.failed` when the text is not nft's JSON.
    static func parse(_ data: Data) throws -> [Entry] {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let items = root["nftables"] as? [Any] else {
            throw CutError.failed(operation: "list blocks", reason: "nft printed no nftables JSON: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        var left: [BlockTarget: Int] = [:]
        for item in items {
            guard let set = (item as? [String: Any])?["set"] as? [String: Any],
                  let name = set["name"] as? String,
                  let elements = set["elem"] as? [Any] else { continue }
            for element in elements {
                guard let wrapper = (element as? [String: Any])?["elem"] as? [String: Any],
                      let expires = wrapper["expires"] as? Int,
                      let value = wrapper["val"],
                      let target = target(set: name, value: value) else { continue }
                left[target] = max(left[target] ?? 0, expires)
            }
        }
        return left.map { (target: $0.key, secondsLeft: $0.value) }
            .sorted { $0.target.description < $1.target.description }
    }

    /// The table names in a `nft -j list tables` listing, as "family name".
    static func tables(_ data: Data) throws -> Set<String> {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let items = root["nftables"] as? [Any] else {
            throw CutError.failed(operation: "list tables", reason: "nft printed no nftables JSON")
        }
        var result = Set<String>()
        for item in items {
            if let table = (item as? [String: Any])?["table"] as? [String: Any],
               let family = table["family"] as? String, let name = table["name"] as? String {
                result.insert("\(family) \(name)")
            }
        }
        return result
    }

    private static func target(set: String, value: Any) -> BlockTarget? {
        switch set {
        case "flow4", "flow6":
            guard let parts = concat(value), parts.count == 5,
                  let a = address(parts[0]), let proto = protocolNumber(parts[1]),
                  let aPort = port(parts[2]), let b = address(parts[3]), let bPort = port(parts[4]) else { return nil }
            return .flow(canonical(a, aPort, b, bPort, proto))
        case "pair4", "pair6":
            guard let parts = concat(value), parts.count == 3,
                  let a = address(parts[0]), let proto = protocolNumber(parts[1]),
                  let b = address(parts[2]) else { return nil }
            return .flow(canonical(a, 0, b, 0, proto))
        case "net4", "net6":
            return network(value)
        default:
            return nil
        }
    }

    private static func network(_ value: Any) -> BlockTarget? {
        if let text = value as? String, let single = IPAddress(text) {
            return .network(single, prefixLength: single.isIPv4 ? 32 : 128)
        }
        guard let object = value as? [String: Any] else { return nil }
        if let prefix = object["prefix"] as? [String: Any],
           let text = prefix["addr"] as? String, let base = IPAddress(text), let length = prefix["len"] as? Int,
           let network = try? BlockElements.network(base, prefixLength: length) {
            return .network(network.address, prefixLength: network.prefixLength)
        }
        return nil
    }

    private static func canonical(_ a: IPAddress, _ aPort: UInt16, _ b: IPAddress, _ bPort: UInt16, _ proto: UInt8) -> FlowKey {
        let swapped = b < a || (a == b && bPort < aPort)
        return swapped
            ? FlowKey(lowerAddress: b, upperAddress: a, lowerPort: bPort, upperPort: aPort, ipProtocol: proto, vlan: 0xFFFF)
            : FlowKey(lowerAddress: a, upperAddress: b, lowerPort: aPort, upperPort: bPort, ipProtocol: proto, vlan: 0xFFFF)
    }

    private static func concat(_ value: Any) -> [Any]? {
        (value as? [String: Any])?["concat"] as? [Any]
    }

    private static func address(_ value: Any) -> IPAddress? {
        (value as? String).flatMap { IPAddress($0) }
    }

    private static func port(_ value: Any) -> UInt16? {
        (value as? Int).flatMap { UInt16(exactly: $0) }
    }

    /// Protocol names nft may print even with `-n`.
    private static let protocolNames: [String: UInt8] = [
        "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "dccp": 33, "gre": 47, "esp": 50, "ah": 51,
        "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132, "udplite": 136,
    ]

    private static func protocolNumber(_ value: Any) -> UInt8? {
        if let number = value as? Int { return UInt8(exactly: number) }
        if let name = value as? String { return protocolNames[name] ?? UInt8(name) }
        return nil
    }
}
