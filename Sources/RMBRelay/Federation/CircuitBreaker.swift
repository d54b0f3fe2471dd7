import ProcessLifecycle

/// Per-domain circuit breaker (known-gaps §17): after `threshold` consecutive failures a domain
/// is skipped for a cool-down; when it ends one trial request is let through (half-open), and a
/// success closes the breaker again while a failed trial reopens it with a doubled cool-down (up
/// to `maxCooldown`). A dead relay therefore costs one fast skip instead of three timed-out
/// requests per envelope. Failures of requests that were already under way when the breaker
/// opened do not extend it: only the trial's outcome does, so a burst of concurrent failures
/// does not push the cool-down to its maximum at once.
///
/// Time is the relay's ``Stopwatch``: instants are durations since it started.
final class CircuitBreaker: Sendable {
    private struct State {
        var failures = 0
        var openUntil: Duration?
        var cooldown: Duration
        var trialInFlight = false
    }

    private let threshold: Int
    private let baseCooldown: Duration
    private let maxCooldown: Duration
    private let states = Locked<[String: State]>([:])
    private let stopwatch: Stopwatch

    init(threshold: Int = 3, baseCooldown: Duration = .seconds(5), maxCooldown: Duration = .seconds(60),
         stopwatch: Stopwatch = Stopwatch(ContinuousClock())) {
        self.stopwatch = stopwatch
        self.threshold = max(1, threshold)
        self.baseCooldown = baseCooldown
        self.maxCooldown = max(baseCooldown, maxCooldown)
    }

    /// Whether a request to `domain` should be attempted now.
    func allows(_ domain: String) -> Bool {
        let now = stopwatch.elapsed()
        return states.withLock { table in
            guard var state = table[domain], let until = state.openUntil else { return true }
            if now < until { return false }
            // Half-open: let this one through and keep the breaker shut for others meanwhile.
            state.openUntil = now + state.cooldown
            state.trialInFlight = true
            table[domain] = state
            return true
        }
    }

    /// Returns true when this closes an open breaker (the domain is back).
    @discardableResult
    func recordSuccess(_ domain: String) -> Bool {
        states.withLock { $0.removeValue(forKey: domain)?.openUntil != nil }
    }

    /// Returns true when this opens the breaker (first time, or again after a failed trial).
    @discardableResult
    func recordFailure(_ domain: String) -> Bool {
        let now = stopwatch.elapsed()
        return states.withLock { table in
            var state = table[domain] ?? State(cooldown: baseCooldown)
            defer { table[domain] = state }
            if state.openUntil != nil {
                guard state.trialInFlight else { return false }   // a request from before it opened
                state.trialInFlight = false
                state.cooldown = min(state.cooldown * 2, maxCooldown)
                state.openUntil = now + state.cooldown
                return true
            }
            state.failures += 1
            guard state.failures >= threshold else { return false }
            state.openUntil = now + state.cooldown
            return true
        }
    }

    /// Whether requests to `domain` are being skipped right now.
    func isOpen(_ domain: String) -> Bool {
        let now = stopwatch.elapsed()
        return states.withLock { table in table[domain]?.openUntil.map { now < $0 } ?? false }
    }
}
