/// Per-domain circuit breaker (known-gaps §17): after `threshold` consecutive failures a domain
/// is skipped for a cool-down that doubles up to `maxCooldown`; one trial request is let through
/// when it ends (half-open), and a success closes it again. A dead relay therefore costs one fast
/// skip instead of three timed-out requests per envelope.
final class CircuitBreaker: Sendable {
    private struct State { var failures = 0; var openUntil: ContinuousClock.Instant?; var cooldown: Duration }

    private let threshold: Int
    private let baseCooldown: Duration
    private let maxCooldown: Duration
    private let states = Locked<[String: State]>([:])

    init(threshold: Int = 3, baseCooldown: Duration = .seconds(5), maxCooldown: Duration = .seconds(60)) {
        self.threshold = max(1, threshold)
        self.baseCooldown = baseCooldown
        self.maxCooldown = maxCooldown
    }

    /// Whether a request to `domain` should be attempted now.
    func allows(_ domain: String, now: ContinuousClock.Instant = .now) -> Bool {
        states.withLock { table in
            guard var state = table[domain], let until = state.openUntil else { return true }
            if now < until { return false }
            // Half-open: let this one through and keep the breaker shut for others meanwhile.
            state.openUntil = now + state.cooldown
            table[domain] = state
            return true
        }
    }

    func recordSuccess(_ domain: String) {
        _ = states.withLock { $0.removeValue(forKey: domain) }
    }

    func recordFailure(_ domain: String, now: ContinuousClock.Instant = .now) {
        states.withLock { table in
            var state = table[domain] ?? State(cooldown: baseCooldown)
            state.failures += 1
            if state.failures >= threshold {
                if state.openUntil != nil { state.cooldown = min(state.cooldown * 2, maxCooldown) }
                state.openUntil = now + state.cooldown
            }
            table[domain] = state
        }
    }
}
