/// One `<interface>` of a domain's `<devices>`, as libvirt describes it.
public struct DomainInterface: Sendable, Hashable {
    /// The interface's `type` (`network`, `bridge`, `ethernet`, `direct`, `hostdev`, …).
    public var type: String?
    /// The host device (`<target dev='vnet3'/>`); nil when libvirt names none (a guest that is
    /// not running, a `hostdev` passthrough).
    public var target: String?
    /// The guest's MAC address (`<mac address='…'/>`).
    public var mac: String?

    public init(type: String? = nil, target: String? = nil, mac: String? = nil) {
        self.type = type
        self.target = target
        self.mac = mac
    }
}

/// A domain XML document that cannot be read: where and why.
public struct DomainXMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line of the problem.
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "domain XML line \(line): \(reason)" }
}

/// Reads the interfaces out of a domain XML document (`virDomainGetXMLDesc`, `virsh dumpxml`).
///
/// A small, strict reader of the XML libvirt writes: elements, attributes in single or double
/// quotes, the five predefined entities and character references, comments, processing
/// instructions and CDATA. Only `<interface>` elements directly inside `<domain><devices>`
/// count, and only their direct `<target>` and `<mac>` children (a disk's `<target dev='vda'/>`
/// is not an interface). Mismatched or unclosed tags and bad attributes are errors.
public enum DomainXML {
    /// Every interface of the domain, in document order.
    public static func interfaces(in xml: String) throws(DomainXMLError) -> [DomainInterface] {
        var reader = XMLReader(Array(xml.utf8))
        var stack: [String] = []
        var interfaces: [DomainInterface] = []
        var sawRoot = false
        while let event = try reader.next() {
            switch event {
            case .start(let name, let attributes, let empty):
                if stack.isEmpty {
                    guard !sawRoot else { throw reader.error("a second root element <\(name)>") }
                    guard name == "domain" else { throw reader.error("the root element is <\(name)>, not <domain>") }
                    sawRoot = true
                }
                let path = stack
                if path == ["domain", "devices"] && name == "interface" {
                    interfaces.append(DomainInterface(type: attributes["type"]))
                } else if path == ["domain", "devices", "interface"], !interfaces.isEmpty {
                    if name == "target", let dev = attributes["dev"] {
                        guard !dev.isEmpty else { throw reader.error("an interface's <target> has an empty 'dev'") }
                        interfaces[interfaces.count - 1].target = dev
                    } else if name == "mac", let address = attributes["address"] {
                        interfaces[interfaces.count - 1].mac = address
                    }
                }
                if !empty { stack.append(name) }
            case .end(let name):
                guard let open = stack.last else { throw reader.error("</\(name)> closes nothing") }
                guard open == name else { throw reader.error("</\(name)> closes <\(open)>") }
                stack.removeLast()
            case .text(let nonBlank):
                if stack.isEmpty && nonBlank { throw reader.error("text outside the root element") }
            }
        }
        if let open = stack.last { throw reader.error("<\(open)> is never closed") }
        guard sawRoot else { throw reader.error("no <domain> element") }
        return interfaces
    }

    /// The host devices of the interfaces that have one, in document order, without repeats.
    public static func targets(in xml: String) throws(DomainXMLError) -> [String] {
        var names: [String] = []
        for interface in try interfaces(in: xml) {
            if let target = interface.target, !names.contains(target) { names.append(target) }
        }
        return names
    }
}

/// A pull reader over UTF-8 bytes: start and end tags and runs of text.
struct XMLReader {
    enum Event {
        case start(String, [String: String], empty: Bool)
        case end(String)
        /// A run of character data; true when it holds more than white space.
        case text(Bool)
    }

    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The error at the current position.
    func error(_ reason: String) -> DomainXMLError {
        let line = 1 + bytes[..<min(position, bytes.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        return DomainXMLError(line: line, reason: reason)
    }

    mutating func next() throws(DomainXMLError) -> Event? {
        guard position < bytes.count else { return nil }
        if bytes[position] != UInt8(ascii: "<") {
            var nonBlank = false
            while position < bytes.count && bytes[position] != UInt8(ascii: "<") {
                if !Self.isSpace(bytes[position]) { nonBlank = true }
                position += 1
            }
            return .text(nonBlank)
        }
        if starts(with: "<!--") {
            try skip(past: "-->", what: "comment")
            return .text(false)
        }
        if starts(with: "<![CDATA[") {
            try skip(past: "]]>", what: "CDATA section")
            return .text(true)
        }
        if starts(with: "<?") {
            try skip(past: "?>", what: "processing instruction")
            return .text(false)
        }
        if starts(with: "<!") {
            try skip(past: ">", what: "declaration")
            return .text(false)
        }
        position += 1
        if position < bytes.count && bytes[position] == UInt8(ascii: "/") {
            position += 1
            let name = try readName("a closing tag")
            skipSpace()
            try expect(">", "'>' after </\(name)")
            return .end(name)
        }
        let name = try readName("a tag")
        var attributes: [String: String] = [:]
        while true {
            let hadSpace = skipSpace()
            guard position < bytes.count else { throw error("<\(name)> is cut off") }
            if bytes[position] == UInt8(ascii: ">") {
                position += 1
                return .start(name, attributes, empty: false)
            }
            if starts(with: "/>") {
                position += 2
                return .start(name, attributes, empty: true)
            }
            guard hadSpace else { throw error("expected a space, '>' or '/>' in <\(name)>") }
            let key = try readName("an attribute of <\(name)>")
            skipSpace()
            try expect("=", "'=' after attribute '\(key)'")
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "'") || bytes[position] == UInt8(ascii: "\"") else {
                throw error("attribute '\(key)' of <\(name)> has no quoted value")
            }
            let quote = bytes[position]
            position += 1
            let start = position
            while position < bytes.count && bytes[position] != quote {
                guard bytes[position] != UInt8(ascii: "<") else { throw error("'<' inside attribute '\(key)'") }
                position += 1
            }
            guard position < bytes.count else { throw error("attribute '\(key)' of <\(name)> is never closed") }
            let value = try decode(bytes[start..<position])
            position += 1
            guard attributes[key] == nil else { throw error("attribute '\(key)' appears twice in <\(name)>") }
            attributes[key] = value
        }
    }

    private func starts(with text: String) -> Bool {
        let t = Array(text.utf8)
        return position + t.count <= bytes.count && bytes[position..<position + t.count].elementsEqual(t)
    }

    private mutating func skip(past terminator: String, what: String) throws(DomainXMLError) {
        let t = Array(terminator.utf8)
        var i = position
        while i + t.count <= bytes.count {
            if bytes[i..<i + t.count].elementsEqual(t) {
                position = i + t.count
                return
            }
            i += 1
        }
        throw error("a \(what) is never closed")
    }

    private mutating func expect(_ text: String, _ what: String) throws(DomainXMLError) {
        guard starts(with: text) else { throw error("expected \(what)") }
        position += text.utf8.count
    }

    @discardableResult
    private mutating func skipSpace() -> Bool {
        let start = position
        while position < bytes.count && Self.isSpace(bytes[position]) { position += 1 }
        return position > start
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    private static func isNameByte(_ b: UInt8) -> Bool {
        b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
    }

    private mutating func readName(_ what: String) throws(DomainXMLError) -> String {
        let start = position
        while position < bytes.count && Self.isNameByte(bytes[position]) { position += 1 }
        guard position > start else { throw error("expected a name in \(what)") }
        let first = bytes[start]
        guard !(first >= 0x30 && first <= 0x39), first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else {
            throw error("'\(String(decoding: bytes[start..<position], as: UTF8.self))' is not an XML name")
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// Replaces entity and character references in an attribute value.
    private func decode(_ raw: ArraySlice<UInt8>) throws(DomainXMLError) -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        var i = raw.startIndex
        while i < raw.endIndex {
            guard raw[i] == UInt8(ascii: "&") else {
                out.append(raw[i])
                i += 1
                continue
            }
            guard let semicolon = raw[i...].firstIndex(of: UInt8(ascii: ";")), semicolon - i <= 10 else {
                throw error("an '&' in an attribute value starts no entity")
            }
            let name = String(decoding: raw[(i + 1)..<semicolon], as: UTF8.self)
            switch name {
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                let value: UInt32? = name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16)
                    : name.hasPrefix("#") ? UInt32(name.dropFirst()) : nil
                guard let value, value > 0, let scalar = Unicode.Scalar(value) else {
                    throw error("unknown entity '&\(name);' in an attribute value")
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            i = semicolon + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
