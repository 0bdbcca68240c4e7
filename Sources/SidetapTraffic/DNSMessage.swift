/// Writes DNS messages in wire format (RFC 1035): queries with an optional EDNS(0) OPT
/// record, and answers with compressed names, CNAME chains, A/AAAA records or NXDOMAIN.
enum DNSMessage {
    /// Names the generated guests look up.
    static let names: [String] = [
        "www.example.com", "api.example.com", "cdn.example.net", "updates.example.org",
        "mail.example.com", "db1.corp.internal", "auth.corp.internal", "registry.example.org",
        "time.example.net", "metrics.corp.internal", "static.example.net", "login.example.com",
    ]

    /// CNAME targets.
    static let edgeNames: [String] = (0..<8).map { "edge\($0).cdn.example.net" }

    /// Writes a dotted name as labels ending with the root label.
    static func writeName(_ name: String, into encoder: inout FrameEncoder) {
        var copy = name
        copy.withUTF8 { utf8 in
            var labelStart = 0
            for index in 0...utf8.count {
                if index == utf8.count || utf8[index] == 0x2E {
                    encoder.appendU8(UInt8(index - labelStart))
                    encoder.append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[labelStart..<index]))
                    labelStart = index + 1
                }
            }
        }
        encoder.appendU8(0)
    }

    /// Header + question; returns nothing, the message starts at the current end.
    static func writeHeader(
        into encoder: inout FrameEncoder, id: UInt16, flags: UInt16, answers: UInt16, additional: UInt16
    ) {
        encoder.appendU16(id)
        encoder.appendU16(flags)
        encoder.appendU16(1)
        encoder.appendU16(answers)
        encoder.appendU16(0)
        encoder.appendU16(additional)
    }

    static func writeQuestion(_ name: String, type: UInt16, into encoder: inout FrameEncoder) {
        writeName(name, into: &encoder)
        encoder.appendU16(type)
        encoder.appendU16(1)          // IN
    }

    /// EDNS(0) OPT pseudo-record advertising a 1232-byte UDP payload.
    static func writeOPT(into encoder: inout FrameEncoder) {
        encoder.appendU8(0)
        encoder.appendU16(41)
        encoder.appendU16(1232)
        encoder.appendU32(0)
        encoder.appendU16(0)
    }

    /// A query for `name` (type 1 = A, 28 = AAAA).
    static func writeQuery(into encoder: inout FrameEncoder, id: UInt16, name: String, type: UInt16, edns: Bool) {
        writeHeader(into: &encoder, id: id, flags: 0x0100, answers: 0, additional: edns ? 1 : 0)
        writeQuestion(name, type: type, into: &encoder)
        if edns { writeOPT(into: &encoder) }
    }

    /// The answer to that query: NXDOMAIN, or an optional CNAME to an edge name followed by
    /// `count` address records, all with compressed owner names.
    static func writeResponse(
        into encoder: inout FrameEncoder, id: UInt16, name: String, type: UInt16, edns: Bool,
        nxdomain: Bool, cname: Bool, count: Int, random: inout SeededRandom
    ) {
        let messageStart = encoder.count
        let answers = nxdomain ? 0 : count + (cname ? 1 : 0)
        writeHeader(
            into: &encoder, id: id, flags: nxdomain ? 0x8183 : 0x8180, answers: UInt16(answers),
            additional: edns ? 1 : 0)
        writeQuestion(name, type: type, into: &encoder)
        if !nxdomain {
            var owner: UInt16 = 0xC00C                  // pointer to the question name
            if cname {
                encoder.appendU16(owner)
                encoder.appendU16(5)                    // CNAME
                encoder.appendU16(1)
                encoder.appendU32(UInt32(random.inRange(30...3600)))
                let lengthAt = encoder.count
                encoder.appendU16(0)
                let targetAt = encoder.count
                writeName(edgeNames[random.below(edgeNames.count)], into: &encoder)
                encoder.setU16(UInt16(encoder.count - targetAt), at: lengthAt)
                owner = 0xC000 | UInt16(targetAt - messageStart)
            }
            for _ in 0..<count {
                encoder.appendU16(owner)
                encoder.appendU16(type)
                encoder.appendU16(1)
                encoder.appendU32(UInt32(random.inRange(30...3600)))
                if type == 28 {
                    encoder.appendU16(16)
                    encoder.appendU64(0xFD00_0099_0000_0000)
                    encoder.appendU64(UInt64(random.inRange(1...0xFFFF)))
                } else {
                    encoder.appendU16(4)
                    encoder.appendU32(0x0A63_0000 | UInt32(random.inRange(1...0xFFFE)))
                }
            }
        }
        if edns { writeOPT(into: &encoder) }
    }
}
