/// Time elapsed on an injected clock since the stopwatch was made: deadlines and round trips
/// (a peer's relay connection, a relay's circuit breaker) are kept as such durations, so any
/// `Clock<Duration>` (a test's manual one) can drive them without knowing its `Instant` type.
public struct Stopwatch: Sendable {
    public let elapsed: @Sendable () -> Duration

    public init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
    }
}
