import Foundation
import Synchronization

/// Text renderings of control API answers for `sidetap ctl`.
enum CtlRender {
    static func pathEscape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }

    static func queryEscape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? text
    }

    static func target(_ value: Any?) -> String {
        guard let target = value as? [String: Any] else { return "?" }
        if let network = target["network"] as? String { return "network \(network)" }
        guard let flow = target["flow"] as? [String: Any] else { return "?" }
        let proto = flow["protocol"] as? String ?? "?"
        func side(_ address: String, _ port: String) -> String {
            let a = flow[address] as? String ?? "?"
            guard let p = flow[port] as? Int else { return a }
            return a.contains(":") ? "[\(a)]:\(p)" : "\(a):\(p)"
        }
        return "\(proto) \(side("source", "source_port")) -> \(side("destination", "destination_port"))"
    }

    static func cut(_ object: Any) -> String {
        guard let cut = object as? [String: Any] else { return "\(object)\n" }
        var lines = [
            "\(cut["id"] as? String ?? "?")  \(cut["state"] as? String ?? "?")  \(cut["method"] as? String ?? "?")  \(target(cut["target"]))",
            "  mode \(cut["mode"] as? String ?? "?"), requested by \(cut["requested_by"] as? String ?? "?") at \(cut["created_at"] as? String ?? "?")",
        ]
        if let expires = cut["expires_at"] as? String { lines.append("  block until \(expires)") }
        if let detail = cut["detail"] as? String, !detail.isEmpty { lines.append("  \(detail)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func cuts(_ object: Any) -> String {
        let list = (object as? [String: Any])?["cuts"] as? [[String: Any]] ?? []
        if list.isEmpty { return "no cuts\n" }
        return list.map { cut in
            "\(cut["id"] as? String ?? "?")  \(pad(cut["state"] as? String ?? "?", 9)) \(pad(cut["method"] as? String ?? "?", 5)) \(pad(cut["requested_by"] as? String ?? "?", 10)) \(target(cut["target"]))"
        }.joined(separator: "\n") + "\n"
    }

    static func flows(_ object: Any) -> String {
        let fields = object as? [String: Any] ?? [:]
        let list = fields["flows"] as? [[String: Any]] ?? []
        if list.isEmpty { return "no flows\n" }
        var out = list.map { flow -> String in
            func side(_ key: String) -> (String, Int) {
                let s = flow[key] as? [String: Any] ?? [:]
                let address = s["address"] as? String ?? "?"
                let port = s["port"] as? Int ?? 0
                let text = port == 0 ? address : (address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)")
                return (text, (s["packets"] as? Int) ?? 0)
            }
            let (a, ap) = side("initiator")
            let (b, bp) = side("responder")
            let guest = (flow["guest"] as? String).map { " guest \($0)" } ?? ""
            return "\(pad(flow["protocol"] as? String ?? "?", 5)) \(a) -> \(b)  \(ap)/\(bp) pkts  \(flow["source"] as? String ?? "")\(guest)"
        }.joined(separator: "\n") + "\n"
        if fields["truncated"] as? Bool == true { out += "(more flows matched; use --limit)\n" }
        return out
    }

    static func stats(_ object: Any) -> String {
        let fields = object as? [String: Any] ?? [:]
        var lines: [String] = []
        for source in fields["sources"] as? [[String: Any]] ?? [] {
            lines.append("source \(source["name"] as? String ?? "?"): \(source["packets"] as? Int ?? 0) packets, \(source["bytes"] as? Int ?? 0) bytes, kernel drops \(source["kernelDropped"] as? Int ?? 0)")
        }
        for port in fields["ports"] as? [[String: Any]] ?? [] {
            lines.append("port \(port["name"] as? String ?? "?") (\(port["kind"] as? String ?? "?")): sent \(port["sent"] as? Int ?? 0), ring full \(port["droppedRingFull"] as? Int ?? 0), rate limit \(port["droppedRateLimit"] as? Int ?? 0), write errors \(port["droppedWriteError"] as? Int ?? 0)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func appliances(_ object: Any) -> String {
        let list = (object as? [String: Any])?["appliances"] as? [[String: Any]] ?? []
        if list.isEmpty { return "no appliances configured\n" }
        return list.map { a in
            let actions = (a["actions"] as? [String] ?? []).joined(separator: ",")
            let scope = ((a["guests"] as? [String] ?? []) + (a["networks"] as? [String] ?? [])).joined(separator: ",")
            return "\(pad(a["name"] as? String ?? "?", 12)) \(pad(a["mode"] as? String ?? "?", 9)) \(actions)  scope \(scope)"
        }.joined(separator: "\n") + "\n"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// Turns the server-sent-events byte stream into one printed line per event.
final class EventPrinter: Sendable {
    private let buffer = Mutex<Data>(Data())
    let json: Bool

    init(json: Bool) {
        self.json = json
    }

    func feed(_ chunk: Data) {
        let messages: [String] = buffer.withLock { pending in
            pending.append(chunk)
            var out: [String] = []
            let separator = Data("\n\n".utf8)
            while let range = pending.range(of: separator) {
                out.append(String(decoding: pending[pending.startIndex..<range.lowerBound], as: UTF8.self))
                pending.removeSubrange(pending.startIndex..<range.upperBound)
            }
            return out
        }
        for message in messages {
            guard let dataLine = message.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else { continue }
            let payload = String(dataLine.dropFirst(6))
            if json {
                print(payload)
            } else if let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] {
                print("\(object["time"] as? String ?? "")  \(object["kind"] as? String ?? "?") \(object["subject"] as? String ?? "?") \(object["event"] as? String ?? "?"): \(object["detail"] as? String ?? "")")
            }
            fflush(nil)
        }
    }
}
