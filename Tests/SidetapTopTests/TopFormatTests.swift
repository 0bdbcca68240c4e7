import Foundation
import SidetapTop
import Testing

/// Number and text formatting, key decoding and the cut list decoding.
@Suite struct TopFormatTests {
    @Test func ratesCountsAndDurations() {
        #expect(TopFormat.rate(nil) == "-")
        #expect(TopFormat.rate(0) == "0")
        #expect(TopFormat.rate(0.25) == "0.2" || TopFormat.rate(0.25) == "0.3")
        #expect(TopFormat.rate(7) == "7.0")
        #expect(TopFormat.rate(42.4) == "42")
        #expect(TopFormat.rate(452_100) == "452.1k")
        #expect(TopFormat.rate(3_250_000) == "3.25M")
        #expect(TopFormat.rate(2e9) == "2.00G")
        #expect(TopFormat.rate(-1) == "-")
        #expect(TopFormat.megabits(12_345_678) == "12.35")
        #expect(TopFormat.count(1_234_567) == "1,234,567")
        #expect(TopFormat.count(999) == "999")
        #expect(TopFormat.drops(12, perSecond: 0) == "12")
        #expect(TopFormat.drops(1204, perSecond: 35) == "1,204 +35/s")
        #expect(TopFormat.duration(42.9) == "42s")
        #expect(TopFormat.duration(187) == "3m07s")
        #expect(TopFormat.duration(7500) == "2h05m")
        #expect(TopFormat.duration(3 * 86400 + 4 * 3600 + 5) == "3d04h")
        #expect(TopFormat.duration(-3) == "0s")
        #expect(TopFormat.clip("abcdef", 3) == "abc")
        #expect(TopFormat.clip("abc", 0) == "")
        #expect(TopFormat.plain("a\u{1B}b\u{9B}c\td") == "a?b?c?d")
    }

    @Test func keysInRawMode() {
        #expect(TopKeys.actions(in: Array("q".utf8)) == [.quit])
        #expect(TopKeys.actions(in: [0x03]) == [.quit])
        #expect(TopKeys.actions(in: Array("Qps ".utf8)) == [.quit, .togglePause, .nextSort, .togglePause])
        #expect(TopKeys.actions(in: [0x0C, 0x1A, UInt8(ascii: "x")]) == [.redraw])
        // Arrow keys and function keys are skipped whole: ESC [ A has a final "A", not a key.
        #expect(TopKeys.actions(in: [0x1B, 0x5B, 0x41, 0x1B, 0x4F, 0x50, UInt8(ascii: "q")]) == [.quit])
        #expect(TopKeys.actions(in: [0x1B, 0x5B, 0x31, 0x35, 0x7E, UInt8(ascii: "s")]) == [.nextSort])
        #expect(TopKeys.actions(in: [0x1B]) == [])
    }

    @Test func cutListAsTheControlAPIWritesIt() throws {
        let body = """
            {"cuts":[
              {"id":"cut-5e1f09a2-1","target":{"flow":{"protocol":"tcp","source":"10.0.0.5","source_port":43512,"destination":"fd00::9","destination_port":443}},
               "method":"reset","ttl":0,"reason":"c2","requested_by":"ids","mode":"enforcing","state":"done","executed":true,
               "created_at":"2026-11-29T12:00:00Z","detail":"sent RST"},
              {"id":"cut-5e1f09a2-2","target":{"network":"203.0.113.0/24"},"method":"block","ttl":600,"reason":"","requested_by":"admin",
               "mode":"enforcing","state":"active","executed":true,"created_at":"2026-11-29T12:00:05Z","expires_at":"2026-11-29T12:10:05Z","detail":"blocked"},
              {"id":"cut-5e1f09a2-3","target":{"flow":{"protocol":"icmp","source":"10.0.0.5","destination":"10.0.0.6"}},
               "method":"block","ttl":60,"reason":"","requested_by":"admin","mode":"learning","state":"learned","executed":false,
               "created_at":"2026-11-29T12:00:06Z","detail":"would block"}
            ]}
            """
        let cuts = try TopCut.decodeList(Data(body.utf8))
        #expect(cuts.map(\.target) == ["tcp 10.0.0.5:43512 -> [fd00::9]:443", "network 203.0.113.0/24", "icmp 10.0.0.5 -> 10.0.0.6"])
        #expect(cuts.map(\.requestedBy) == ["ids", "admin", "admin"])
        #expect(cuts[1].createdAt.timeIntervalSince(cuts[0].createdAt) == 5)
        #expect(throws: (any Error).self) { try TopCut.decodeList(Data("{\"cuts\":[{\"id\":1}]}".utf8)) }
    }
}
