/// When a batch that a relay has not confirmed yet is sent through another relay as well.
///
/// A relay that goes silent — frozen, partitioned, a NAT that dropped its state — keeps its TCP
/// connection open, so nothing fails; only its confirmations stop. Waiting for the flat
/// confirmation timeout (5 s) stalls every message for that long, while the sessions to the
/// other relays are open and idle. The hedge deadline is derived from what this relay's
/// confirmations took recently: `multiplier` × the slowest of the last ``window`` round trips,
/// never below `floor` (scheduling noise and a GC pause are not silence) nor above the
/// confirmation timeout.
public struct HedgePolicy: Sendable, Equatable {
    /// Lower bound of the hedge deadline.
    public var floor: Duration = .milliseconds(200)
    /// Times the slowest recent round trip.
    public var multiplier: Double = 4
    /// false: no hedging; a batch moves on only when its relay fails or times out.
    public var enabled = true
    /// Round trips remembered per relay.
    public static let window = 32

    public init() {}

    /// The deadline for a relay whose recent round trips are `recent` (any order).
    public func deadline(recent: some Collection<Duration>, ceiling: Duration) -> Duration {
        let slowest = recent.max() ?? .zero
        return min(max(slowest * multiplier, floor), ceiling)
    }
}

/// The last ``HedgePolicy/window`` confirmation round trips of one relay.
public struct RoundTripWindow: Sendable, Equatable {
    private var samples: [Duration] = []
    private var next = 0

    public init() {}

    public var recent: [Duration] { samples }

    public mutating func record(_ sample: Duration) {
        if samples.count < HedgePolicy.window {
            samples.append(sample)
        } else {
            samples[next] = sample
            next = (next + 1) % HedgePolicy.window
        }
    }
}
