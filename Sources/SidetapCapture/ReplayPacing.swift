/// How fast a replayed capture is delivered, in tcpreplay's vocabulary.
public enum ReplayPacing: Sendable, Hashable, CustomStringConvertible {
    /// The capture's own timing, sped up by the factor: 1 is the original timing, 2 twice as
    /// fast (gaps halved), 0.5 half as fast.
    case multiplier(Double)
    /// A fixed number of packets per second; timestamps are ignored.
    case packetsPerSecond(Double)
    /// A fixed bit rate over the packets' wire lengths, in 10^6 bit/s; timestamps are ignored.
    /// A packet is due when all earlier packets would have been sent at that rate.
    case megabitsPerSecond(Double)
    /// No waiting: as fast as the source reads.
    case topSpeed

    /// The capture's original timing (`multiplier(1)`).
    public static let original = ReplayPacing.multiplier(1)

    /// Throws when a factor or rate is not a positive finite number.
    public func validate() throws(ReplayPacingError) {
        switch self {
        case .multiplier(let value), .packetsPerSecond(let value), .megabitsPerSecond(let value):
            guard value.isFinite, value > 0 else { throw ReplayPacingError(pacing: self) }
        case .topSpeed:
            break
        }
    }

    public var description: String {
        switch self {
        case .multiplier(let factor): factor == 1 ? "original timing" : "multiplier \(factor)"
        case .packetsPerSecond(let rate): "\(rate) pps"
        case .megabitsPerSecond(let rate): "\(rate) Mbps"
        case .topSpeed: "topspeed"
        }
    }
}

/// A pacing whose factor or rate is zero, negative, infinite or NaN.
public struct ReplayPacingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var pacing: ReplayPacing
    public var description: String { "invalid replay pacing \(pacing): the factor or rate must be a positive number" }
}
