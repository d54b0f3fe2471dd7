import TwinDirectory

/// What the peer knows about one relay connection; used to rank relays for sending and shown
/// by `rmb-peer status`.
public struct RelayHealth: Sendable, Equatable {
    public enum State: String, Sendable {
        case connecting, connected, disconnected
    }

    public var relay: RelayAddress
    public var state: State = .connecting
    /// Round trip of the last confirmed batch (frames + envelope ping → pong).
    public var lastRoundTrip: Duration?
    /// Failures (connect errors, lost connections, unconfirmed batches) with exponential decay:
    /// each success halves it.
    public var recentFailures: Double = 0
    public var confirmedBatches: UInt64 = 0
    /// Established connections that went down (a relay killed, a network cut, a half-open socket).
    public var connectionsLost: UInt64 = 0
    public var lastError: String?
    /// Since when a confirmation of this connected relay is overdue (past its hedge deadline):
    /// the relay is *silent*, demoted below every relay that answers, and probed until a
    /// confirmation comes back. Time on the connection's clock (since the connection was made).
    public var silentSince: Duration?
    /// Recent confirmation round trips, for the hedge deadline.
    public var roundTrips = RoundTripWindow()
    /// Batches of this relay that were hedged through another relay.
    public var hedges: UInt64 = 0

    public init(relay: RelayAddress) { self.relay = relay }

    /// What `rmb peer status` shows: `silent` is connected but not confirming.
    public var displayState: String {
        state == .connected && silentSince != nil ? "silent" : state.rawValue
    }

    /// Lower is better. Disconnected relays are never chosen; a silent one only after every
    /// relay that answers; among the rest fewer recent failures win, then a shorter round trip.
    public var rank: Double {
        guard state == .connected else { return .infinity }
        let rtt = lastRoundTrip.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0.05
        return (silentSince == nil ? 0 : 1_000) + recentFailures * 10 + rtt
    }

    /// A pong confirmed `batches` batches, `roundTrip` after its ping was written.
    mutating func recordSuccess(roundTrip: Duration, batches: Int = 1) {
        lastRoundTrip = roundTrip
        roundTrips.record(roundTrip)
        recentFailures /= 2
        confirmedBatches += UInt64(max(batches, 0))
        silentSince = nil
    }

    mutating func recordFailure(_ error: String) {
        recentFailures += 1
        lastError = error
    }
}
