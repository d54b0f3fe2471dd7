import RMBProtocol

/// When the federation worker stops retrying an envelope it cannot forward, so that the sender
/// hears of it while its request still lives (the reference retries until the expiry and only
/// then sends `message has expired`, which the sending peer has already stopped waiting for).
///
/// The rule, which peers can rely on: after a transient failure (no relay of the destination
/// accepted the envelope: refused, timed out, 5xx, circuit open), the envelope is retried only if
/// the retry starts at least `margin` before its deadline (timestamp + expiration), where
/// `margin` is a quarter of its expiration and at least 1 s; otherwise the relay gives up at once
/// and sends the source a code-0 error whose text starts with ``RelayErrorText/undeliverablePrefix``
/// and names the last failure of each relay. A 10-s request to a dead relay hears so after ~5 s.
/// Permanent failures (any 4xx, no such twin, no relay on its record) are answered at once, as before.
/// And no attempt outlasts the envelope: POSTs end a second before its deadline (``attemptBudget``),
/// so even a slow failing attempt is reported in time.
enum FederationGiveUp {
    /// Time the error needs to travel back to the sender.
    static let errorTrip: Duration = .seconds(1)

    /// How long forwarding attempts may take now: until `errorTrip` before the deadline.
    static func attemptBudget(envelope: RMBEnvelope, nowMillis: UInt64) -> Duration {
        guard let left = millisecondsLeft(envelope, nowMillis: nowMillis) else { return .zero }
        return max(.zero, .milliseconds(left) - errorTrip)
    }

    static func margin(expiration: UInt64) -> Duration {
        max(.seconds(1), .seconds(Int64(clamping: expiration)) / 4)
    }

    /// `now` is the wall clock in milliseconds since the epoch: whole seconds would overstate the
    /// time left by up to a second.
    static func retryCanLand(after delay: Duration, envelope: RMBEnvelope, nowMillis: UInt64) -> Bool {
        guard let left = millisecondsLeft(envelope, nowMillis: nowMillis) else { return false }
        return .milliseconds(left) >= delay + margin(expiration: envelope.expiration)
    }

    /// Milliseconds to the deadline (saturating), nil once it has passed.
    private static func millisecondsLeft(_ envelope: RMBEnvelope, nowMillis: UInt64) -> Int64? {
        let (deadline, overflow) = envelope.timestamp.addingReportingOverflow(envelope.expiration)
        if overflow { return .max }
        let (deadlineMillis, tooFar) = deadline.multipliedReportingOverflow(by: 1000)
        if tooFar { return .max }
        guard deadlineMillis > nowMillis else { return nil }
        return Int64(clamping: deadlineMillis - nowMillis)
    }
}
