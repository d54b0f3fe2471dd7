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

    public init(relay: RelayAddress) { self.relay = relay }

    /// Lower is better. Disconnected relays are never chosen; among connected ones fewer recent
    /// failures win, then a shorter round trip.
    public var rank: Double {
        guard state == .connected else { return .infinity }
        let rtt = lastRoundTrip.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0.05
        return recentFailures * 10 + rtt
    }

    mutating func recordSuccess(roundTrip: Duration) {
        lastRoundTrip = roundTrip
        recentFailures /= 2
        confirmedBatches += 1
    }

    mutating func recordFailure(_ error: String) {
        recentFailures += 1
        lastError = error
    }
}
