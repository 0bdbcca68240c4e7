import Foundation
import SidetapCore
import SidetapTop
import Testing

/// The frame layout: content, width, height, and what the header says.
@Suite struct TopScreenTests {
    let now = TopFixtures.epoch.addingTimeInterval(2)

    func render(_ model: TopModel, _ width: Int, _ height: Int?) -> TopFrame {
        TopScreen.render(model, now: now, width: width, height: height, timeZone: TopFixtures.utc)
    }

    @Test func aFrameShowsHeaderSourcesPortsAndCuts() throws {
        let model = TopFixtures.model(cuts: [TopFixtures.cut("cut-1", secondsAgo: 75), TopFixtures.cut("cut-2", secondsAgo: 3, state: "done", method: "reset")])
        let frame = render(model, 160, 30)
        let text = frame.text
        #expect(frame.lines.count == 30)
        #expect(frame.lines[0].hasPrefix("sidetap top  unix:/run/sidetap/control.sock  Sidetap 0.1.0  up 7s  every 1.0s  08:00:02"))
        #expect(frame.lines[1] == "connected")
        #expect(frame.lines[2].contains("in 1.0k pkt/s 1.00 Mbit/s"))
        #expect(frame.lines[2].contains("port drops 30 +10/s"))
        #expect(frame.lines[2].contains("kernel drops 8 +2.0/s"))
        #expect(frame.lines[2].contains("cuts 2 (1 active)"))
        #expect(frame.lines[3] == "control: ids enforcing")

        let sourceHeading = try #require(frame.lines.firstIndex { $0.hasPrefix("SOURCE") })
        #expect(frame.headings.contains(sourceHeading))
        let eth0 = frame.lines[sourceHeading + 1]
        #expect(eth0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                == ["eth0", "web01", "1.0k", "1.00", "4,000", "8", "+2.0/s", "ok"])

        let portHeading = try #require(frame.lines.firstIndex { $0.hasPrefix("PORT") })
        #expect(frame.headings.contains(portHeading))
        #expect(frame.lines[portHeading].contains("RING FULL") && frame.lines[portHeading].contains("SEQ"))
        let ids = frame.lines[portHeading + 1].split(separator: " ").map(String.init)
        #expect(ids == ["ids", "vxlan", "1.0k", "1.00", "3,000", "30", "+10/s", "0", "0", "0", "3,030", "ok"])

        // Cuts newest first, with their age.
        let cutHeading = try #require(frame.lines.firstIndex { $0.hasPrefix("CUT") })
        #expect(frame.lines[cutHeading + 1].hasPrefix("cut-2  reset   network 10.77.75.2/32  admin  done"))
        #expect(frame.lines[cutHeading + 1].hasSuffix("3s"))
        #expect(frame.lines[cutHeading + 2].hasPrefix("cut-1  block   network 10.77.75.2/32  admin  active"))
        #expect(frame.lines[cutHeading + 2].hasSuffix("1m15s"))
        #expect(frame.lines.last == "q quit  p pause  s sort (config)")
        #expect(text.contains("\n\n"), "sections are separated by blank lines when there is room")
    }

    @Test func everyLineFitsTheWidthAndTheFrameFillsTheHeight() {
        let model = TopFixtures.model(cuts: (0..<12).map { TopFixtures.cut("cut-\($0)", secondsAgo: Double($0)) }, sources: 6, ports: 6)
        for width in [1, 2, 10, 40, 79, 80, 132, 300] {
            for height in 1...45 {
                let frame = render(model, width, height)
                #expect(frame.lines.count == height, "width \(width) height \(height)")
                #expect(frame.lines.allSatisfy { $0.count <= width }, "width \(width) height \(height)")
                #expect(frame.headings.allSatisfy { $0 < frame.lines.count })
            }
        }
    }

    @Test func aShortTerminalKeepsEveryTableHeadingAndSaysWhatIsLeftOut() throws {
        let model = TopFixtures.model(cuts: (0..<12).map { TopFixtures.cut("cut-\($0)", secondsAgo: Double($0)) }, sources: 6, ports: 6)
        let frame = render(model, 200, 20)
        #expect(frame.lines.count == 20)
        #expect(!frame.lines.contains(""), "no blank separators when space is short")
        for heading in ["SOURCE", "PORT", "CUT"] {
            #expect(frame.lines.contains { $0.hasPrefix(heading) }, "\(heading) heading is missing")
        }
        // 4 header + 1 key line leave 15: three headings, sources (7 rows) and ports (7 rows) in
        // full would need 17, so the later tables are cut and say by how much.
        let cutHeading = try #require(frame.lines.firstIndex { $0.hasPrefix("CUT") })
        #expect(frame.lines[cutHeading + 1].hasPrefix("cut-0"))
        let more = frame.lines.filter { $0.hasPrefix("... ") }
        #expect(!more.isEmpty)
        // Every source and port is either shown or counted in a "... N more" line.
        let sourceHeading = try #require(frame.lines.firstIndex { $0.hasPrefix("SOURCE") })
        let portHeading = try #require(frame.lines.firstIndex { $0.hasPrefix("PORT") })
        let shownSources = frame.lines[(sourceHeading + 1)..<portHeading]
        let hidden = shownSources.last.flatMap { $0.hasPrefix("... ") ? Int($0.split(separator: " ")[1]) : 0 } ?? 0
        #expect(shownSources.filter { !$0.hasPrefix("... ") }.count + hidden == 7)
    }

    @Test func tooLongCellsAreCutAndLinesNeverWrap() {
        var (before, after) = TopFixtures.pair()
        let long = String(repeating: "x", count: 80)
        before.sources[0].name = long
        after.sources[0].name = long
        after.sources[0].problem = "interface went away: " + long
        var model = TopModel(endpoint: "unix:/s", interval: 1)
        model.record(TopSnapshot(statistics: before), at: TopFixtures.epoch)
        model.record(TopSnapshot(statistics: after), at: TopFixtures.epoch)
        let frame = render(model, 100, 24)
        let row = frame.lines.first { $0.hasPrefix("xxx") }
        #expect(row?.hasPrefix(String(repeating: "x", count: 19) + "~ ") == true, "\(row ?? "none")")
        #expect(row?.count == 100)
    }

    @Test func controlCharactersFromTheDaemonAreNotPassedToTheTerminal() {
        var (before, after) = TopFixtures.pair()
        after.sources[0].problem = "bad\u{1B}[2Jname\nnext"
        before.ports[0].name = "p\u{7}"
        after.ports[0].name = "p\u{7}"
        var model = TopModel(endpoint: "unix:/s", interval: 1)
        model.record(TopSnapshot(statistics: before), at: TopFixtures.epoch)
        model.record(TopSnapshot(statistics: after), at: TopFixtures.epoch)
        let frame = render(model, 200, 24)
        #expect(frame.lines.allSatisfy { line in line.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } })
        #expect(frame.text.contains("problem: bad?[2Jname?next"))
        #expect(frame.text.contains("p?  "))
    }

    @Test func aLostConnectionIsShownInTheHeaderWithTheLastData() {
        var model = TopFixtures.model()
        model.recordFailure("unix:/s: cannot connect", at: TopFixtures.epoch.addingTimeInterval(3))
        model.recordFailure("unix:/s: cannot connect", at: TopFixtures.epoch.addingTimeInterval(4))
        let frame = render(model, 200, 24)
        #expect(frame.lines[1] == "CONNECTION LOST since 08:00:03 (2 failed, retrying): unix:/s: cannot connect; data below is from 08:00:02")
        #expect(frame.text.contains("eth0"))
        model.paused = true
        #expect(render(model, 200, 24).lines[1].hasPrefix("PAUSED  CONNECTION LOST"))
        #expect(render(model, 200, 24).lines.last == "q quit  p resume  s sort (config)")
    }

    @Test func beforeTheFirstAnswerAndWithoutPermissions() {
        let waiting = render(TopModel(endpoint: "unix:/s", interval: 0.5), 120, 20)
        #expect(waiting.lines[1] == "connecting...")
        #expect(waiting.lines[0].contains("every 0.5s"))
        #expect(waiting.text.contains("(no answer yet)"))
        var model = TopModel(endpoint: "https://tap:8443", interval: 1)
        let (before, _) = TopFixtures.pair()
        model.record(TopSnapshot(statistics: before), at: TopFixtures.epoch)
        let frame = render(model, 120, 20)
        #expect(frame.text.contains("(cuts not readable with these credentials)"))
        #expect(frame.lines[3] == "control: appliance modes not readable with these credentials")
        // The first snapshot has no rates yet.
        #expect(frame.lines.first { $0.hasPrefix("eth0") }?.split(separator: " ").map(String.init)[2...3] == ["-", "-"])
    }

    @Test func oneFrameForAFileHasEveryRowAndNoKeyLine() {
        let model = TopFixtures.model(cuts: (0..<30).map { TopFixtures.cut("cut-\($0)", secondsAgo: Double($0)) }, sources: 20, ports: 10)
        let frame = render(model, .max, nil)
        #expect(frame.lines.filter { $0.hasPrefix("cut-") }.count == 30)
        #expect(frame.lines.filter { $0.hasPrefix("src") }.count == 20)
        #expect(frame.lines.filter { $0.hasPrefix("port") && !$0.hasPrefix("PORT") }.count == 10)
        #expect(!frame.text.contains("q quit"))
        #expect(!frame.text.contains("..."))
    }
}
