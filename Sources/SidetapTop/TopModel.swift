import Foundation
import SidetapCore

/// Everything one frame of `sidetap top` shows: the newest snapshot, the rates since the one
/// before, whether Sidetap still answers, and the viewer's own settings (pause, sort order).
public struct TopModel: Sendable {
    /// Whether the last refresh reached Sidetap.
    public enum Connection: Sendable, Equatable {
        /// No answer yet.
        case connecting
        case connected
        /// The last `failures` refreshes failed, the first at `since`; `reason` is the newest.
        case lost(reason: String, since: Date, failures: Int)
    }

    /// How the source and port tables are ordered.
    public enum Sort: String, Sendable, CaseIterable {
        /// As the config lists them.
        case config
        /// Busiest first (packets per second).
        case rate
        /// Most drops first (kernel drops for sources, all drops for ports).
        case drops

        /// The next order (the `s` key).
        public var next: Sort {
            let all = Sort.allCases
            return all[(all.firstIndex(of: self)! + 1) % all.count]
        }
    }

    /// Where the viewer connects ("unix:/run/sidetap/control.sock").
    public var endpoint: String
    /// Seconds between refreshes.
    public var interval: Double
    public private(set) var snapshot: TopSnapshot?
    /// When `snapshot` arrived.
    public private(set) var snapshotTime: Date?
    public private(set) var rates: TopRates?
    public private(set) var connection: Connection = .connecting
    /// While paused, new snapshots are not taken in, so the frame stays as it was.
    public var paused = false
    public var sort: Sort = .config

    public init(endpoint: String, interval: Double) {
        self.endpoint = endpoint
        self.interval = interval
    }

    /// Takes in a refresh's answer (ignored while paused): rates against the snapshot before.
    public mutating func record(_ new: TopSnapshot, at time: Date) {
        connection = .connected
        guard !paused else { return }
        rates = snapshot.flatMap { TopRates.between($0.statistics, new.statistics) }
        snapshot = new
        snapshotTime = time
    }

    /// Notes a refresh that failed; the last snapshot stays on screen, marked stale.
    public mutating func recordFailure(_ reason: String, at time: Date) {
        switch connection {
        case .lost(_, let since, let failures): connection = .lost(reason: reason, since: since, failures: failures + 1)
        case .connected, .connecting: connection = .lost(reason: reason, since: time, failures: 1)
        }
    }

    /// The sources in display order.
    public func orderedSources() -> [EngineStatistics.Source] {
        let sources = snapshot?.statistics.sources ?? []
        switch sort {
        case .config: return sources
        case .rate: return stable(sources) { (rates?.sources[$0.name]?.packetsPerSecond ?? 0) > (rates?.sources[$1.name]?.packetsPerSecond ?? 0) }
        case .drops: return stable(sources) { $0.kernelDropped > $1.kernelDropped }
        }
    }

    /// The ports in display order.
    public func orderedPorts() -> [EngineStatistics.Port] {
        let ports = snapshot?.statistics.ports ?? []
        switch sort {
        case .config: return ports
        case .rate: return stable(ports) { (rates?.ports[$0.name]?.sentPerSecond ?? 0) > (rates?.ports[$1.name]?.sentPerSecond ?? 0) }
        case .drops: return stable(ports) { $0.dropped > $1.dropped }
        }
    }

    /// The cuts, newest first.
    public func recentCuts() -> [TopCut] {
        (snapshot?.cuts ?? []).enumerated().sorted { a, b in
            a.element.createdAt != b.element.createdAt ? a.element.createdAt > b.element.createdAt : a.offset > b.offset
        }.map(\.element)
    }

    /// A sort that keeps the config order among equals.
    private func stable<T>(_ items: [T], _ before: (T, T) -> Bool) -> [T] {
        items.enumerated().sorted { a, b in
            if before(a.element, b.element) { return true }
            if before(b.element, a.element) { return false }
            return a.offset < b.offset
        }.map(\.element)
    }
}
