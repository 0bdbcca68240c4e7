import Foundation
import SidetapCore
import SidetapTop

/// Statistics, snapshots and models for the `sidetap top` tests.
enum TopFixtures {
    static func source(_ name: String, guest: String? = nil, packets: UInt64, bytes: UInt64, kernelDropped: UInt64 = 0,
                       problem: String? = nil, finished: Bool = false) -> EngineStatistics.Source {
        EngineStatistics.Source(name: name, guest: guest, packets: packets, bytes: bytes, decodeIncomplete: 0, kernelDropped: kernelDropped,
                                errors: 0, problem: problem, finished: finished)
    }

    static func port(_ name: String, kind: String = "discard", sent: UInt64, sentBytes: UInt64, ringFull: UInt64 = 0, rateLimit: UInt64 = 0,
                     writeError: UInt64 = 0, queued: Int = 0, lastError: String? = nil, sequence: UInt64? = nil) -> EngineStatistics.Port {
        EngineStatistics.Port(name: name, kind: kind, received: sent + ringFull + rateLimit + writeError, selected: sent + ringFull + rateLimit + writeError,
                              sent: sent, sentBytes: sentBytes, droppedRingFull: ringFull, droppedRateLimit: rateLimit,
                              droppedWriteError: writeError, queued: queued, lastError: lastError, sequence: sequence)
    }

    /// Two snapshots two seconds apart on the engine clock: source `eth0` 2,000 → 4,000 packets
    /// (1,000 pkt/s, 1 Mbit/s), port `ids` 1,000 → 3,000 sent with 10 → 30 ring-full drops.
    static func pair() -> (EngineStatistics, EngineStatistics) {
        let before = EngineStatistics(
            sources: [source("eth0", guest: "web01", packets: 2000, bytes: 250_000, kernelDropped: 4)],
            ports: [port("ids", kind: "vxlan", sent: 1000, sentBytes: 100_000, ringFull: 10, sequence: 1010)],
            elapsedNanos: 5_000_000_000)
        let after = EngineStatistics(
            sources: [source("eth0", guest: "web01", packets: 4000, bytes: 500_000, kernelDropped: 8)],
            ports: [port("ids", kind: "vxlan", sent: 3000, sentBytes: 350_000, ringFull: 30, sequence: 3030)],
            elapsedNanos: 7_000_000_000)
        return (before, after)
    }

    static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    /// A model that took in both snapshots of `pair()` with cuts and appliances.
    static func model(cuts: [TopCut] = [], sources extra: Int = 0, ports extraPorts: Int = 0) -> TopModel {
        var (before, after) = pair()
        for i in 0..<extra {
            before.sources.append(source("src\(i)", packets: 0, bytes: 0))
            after.sources.append(source("src\(i)", packets: UInt64(i) * 10, bytes: UInt64(i) * 1000))
        }
        for i in 0..<extraPorts {
            before.ports.append(port("port\(i)", sent: 0, sentBytes: 0))
            after.ports.append(port("port\(i)", sent: UInt64(i), sentBytes: UInt64(i) * 100))
        }
        var model = TopModel(endpoint: "unix:/run/sidetap/control.sock", interval: 1)
        model.record(TopSnapshot(statistics: before, uptimeSeconds: 5, version: "Sidetap 0.1.0", cuts: cuts,
                                 appliances: [TopAppliance(name: "ids", mode: "enforcing")]), at: epoch)
        model.record(TopSnapshot(statistics: after, uptimeSeconds: 7, version: "Sidetap 0.1.0", cuts: cuts,
                                 appliances: [TopAppliance(name: "ids", mode: "enforcing")]), at: epoch.addingTimeInterval(2))
        return model
    }

    static func cut(_ id: String, secondsAgo: Double, state: String = "active", method: String = "block") -> TopCut {
        TopCut(id: id, method: method, target: "network 10.77.75.2/32", requestedBy: "admin", state: state,
               createdAt: epoch.addingTimeInterval(2 - secondsAgo))
    }

    static let utc = TimeZone(identifier: "UTC")!
}
