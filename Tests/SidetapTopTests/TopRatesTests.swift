import Foundation
import SidetapCore
import SidetapTop
import Testing

/// Rates between two statistics snapshots.
@Suite struct TopRatesTests {
    @Test func ratesAreDeltasOverTheEngineClock() throws {
        let (before, after) = TopFixtures.pair()
        let rates = try #require(TopRates.between(before, after))
        #expect(rates.seconds == 2)
        let source = try #require(rates.sources["eth0"])
        #expect(source.packetsPerSecond == 1000)
        #expect(source.bitsPerSecond == 1_000_000)
        #expect(source.kernelDropsPerSecond == 2)
        let port = try #require(rates.ports["ids"])
        #expect(port.sentPerSecond == 1000)
        #expect(port.bitsPerSecond == 1_000_000)
        #expect(port.ringFullPerSecond == 10)
        #expect(port.rateLimitPerSecond == 0)
        #expect(port.dropsPerSecond == 10)
        #expect(rates.totalPacketsPerSecond == 1000)
        #expect(rates.totalSentPerSecond == 1000)
        #expect(rates.totalPortDropsPerSecond == 10)
    }

    @Test func noRatesWhenTheEngineClockDidNotMoveOrWentBack() {
        let (before, after) = TopFixtures.pair()
        #expect(TopRates.between(after, after) == nil)
        // A restarted daemon: its clock starts again from zero.
        var restarted = after
        restarted.elapsedNanos = 1_000_000_000
        #expect(TopRates.between(after, restarted) == nil)
        #expect(TopRates.between(before, after) != nil)
    }

    @Test func countersThatWentDownOrNewEntriesHaveNoRate() throws {
        var (before, after) = TopFixtures.pair()
        after.ports[0].sent = 5
        after.sources.append(TopFixtures.source("new", packets: 10, bytes: 100))
        let rates = try #require(TopRates.between(before, after))
        #expect(rates.ports["ids"] == nil)
        #expect(rates.sources["new"] == nil)
        #expect(rates.sources["eth0"] != nil)
        #expect(TopRates.perSecond(10, 20, 1) == nil)
        #expect(TopRates.perSecond(30, 20, 0.5) == 20)
    }

    @Test func theModelKeepsTheLastSnapshotWhenTheConnectionIsLost() {
        var model = TopFixtures.model()
        let packets = model.snapshot?.statistics.totalPackets
        model.recordFailure("cannot connect", at: TopFixtures.epoch.addingTimeInterval(3))
        model.recordFailure("cannot connect again", at: TopFixtures.epoch.addingTimeInterval(4))
        #expect(model.connection == .lost(reason: "cannot connect again", since: TopFixtures.epoch.addingTimeInterval(3), failures: 2))
        #expect(model.snapshot?.statistics.totalPackets == packets)
        // Back again: connected, and rates resume from the last snapshot.
        var (_, after) = TopFixtures.pair()
        after.elapsedNanos += 1_000_000_000
        after.sources[0].packets += 500
        model.record(TopSnapshot(statistics: after), at: TopFixtures.epoch.addingTimeInterval(5))
        #expect(model.connection == .connected)
        #expect(model.rates?.sources["eth0"]?.packetsPerSecond == 500)
    }

    @Test func pauseFreezesTheDataAndSortOrdersTheTables() {
        var model = TopFixtures.model(sources: 3)
        model.paused = true
        var (_, after) = TopFixtures.pair()
        after.elapsedNanos += 1_000_000_000
        after.sources[0].packets += 999
        model.record(TopSnapshot(statistics: after), at: TopFixtures.epoch.addingTimeInterval(5))
        #expect(model.snapshot?.statistics.sources[0].packets == 4000)
        #expect(model.orderedSources().map(\.name) == ["eth0", "src0", "src1", "src2"])
        model.sort = .rate
        // eth0 1000 pkt/s, src2 10 pkt/s, src1 5 pkt/s, src0 0.
        #expect(model.orderedSources().map(\.name) == ["eth0", "src2", "src1", "src0"])
        model.sort = model.sort.next
        #expect(model.sort == .drops)
        #expect(model.orderedSources().first?.name == "eth0")
        #expect(model.sort.next == .config)
    }
}
