import Foundation
import SidetapCore

/// What one refresh of `sidetap top` read from a running Sidetap: its counters, and when the
/// caller may read them, its uptime, cuts and appliance modes.
public struct TopSnapshot: Sendable, Equatable {
    /// `GET /v1/stats`.
    public var statistics: EngineStatistics
    /// `GET /v1/health`: seconds since the control API started, and the daemon's version.
    public var uptimeSeconds: Double?
    public var version: String?
    /// `GET /v1/cuts` (nil when the caller may not list them).
    public var cuts: [TopCut]?
    /// `GET /v1/appliances` (nil when the caller is not the administrator).
    public var appliances: [TopAppliance]?

    public init(statistics: EngineStatistics, uptimeSeconds: Double? = nil, version: String? = nil, cuts: [TopCut]? = nil,
                appliances: [TopAppliance]? = nil) {
        self.statistics = statistics
        self.uptimeSeconds = uptimeSeconds
        self.version = version
        self.cuts = cuts
        self.appliances = appliances
    }
}

/// An appliance and its mode (learning or enforcing), from `GET /v1/appliances`.
public struct TopAppliance: Sendable, Equatable, Decodable {
    public var name: String
    public var mode: String

    public init(name: String, mode: String) {
        self.name = name
        self.mode = mode
    }
}
