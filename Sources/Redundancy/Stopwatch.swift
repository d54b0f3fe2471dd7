/// Time elapsed on an injected clock since the stopwatch was made: deadlines and round trips
/// of a connection are kept as such durations, so any `Clock<Duration>` (a test's manual one)
/// can drive them without knowing its `Instant` type.
struct Stopwatch: Sendable {
    let elapsed: @Sendable () -> Duration

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
    }
}
