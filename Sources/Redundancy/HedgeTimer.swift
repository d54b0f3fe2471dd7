import ProcessLifecycle
import Synchronization

/// The hedge deadlines of every batch in flight, on one shared sleeper instead of a timer task
/// per batch. A busy peer sends hundreds of batches a second and nearly all are confirmed long
/// before their deadline (200 ms at least): a task per batch cost a timer set up and torn down,
/// and the thread wake-ups that go with them, for nothing. The sleeper runs only while some
/// deadline is pending, sleeps until the earliest, fires what is due, and goes on to the next;
/// a deadline earlier than the one it sleeps for starts a new sleeper that takes over.
final class HedgeTimer: Sendable {
    typealias Token = UInt64

    private struct Pending {
        let due: Duration
        let fire: @Sendable () -> Void
    }

    private struct State {
        var pending: [Token: Pending] = [:]
        var nextToken: Token = 0
        /// The sleeper in charge (its id) and when it wakes; nil when none runs.
        var sleeper: (id: UInt64, wakesAt: Duration)?
        var nextSleeper: UInt64 = 0
    }

    private let state = Mutex(State())
    private let clock: any Clock<Duration>
    private let stopwatch: Stopwatch

    init(clock: any Clock<Duration>) {
        self.clock = clock
        self.stopwatch = Stopwatch(clock)
    }

    /// Deadlines waiting to fire.
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Runs `fire` (once, on the sleeper's task) when `delay` has passed on the clock, unless
    /// ``cancel(_:)`` comes first.
    func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> Token {
        let due = stopwatch.elapsed() + delay
        let (token, newSleeper) = state.withLock { state -> (Token, UInt64?) in
            state.nextToken += 1
            state.pending[state.nextToken] = Pending(due: due, fire: fire)
            if let sleeper = state.sleeper, sleeper.wakesAt <= due { return (state.nextToken, nil) }
            state.nextSleeper += 1
            state.sleeper = (state.nextSleeper, due)
            return (state.nextToken, state.nextSleeper)
        }
        if let newSleeper { startSleeper(newSleeper, wakingAt: due) }
        return token
    }

    /// Forgets a deadline; it will not fire (unless it is firing already).
    func cancel(_ token: Token) {
        state.withLock { _ = $0.pending.removeValue(forKey: token) }
    }

    private func startSleeper(_ id: UInt64, wakingAt first: Duration) {
        Task { [self] in
            var wakeAt = first
            while true {
                let remaining = wakeAt - stopwatch.elapsed()
                if remaining > .zero { try? await clock.sleep(for: remaining, tolerance: nil) }
                let now = stopwatch.elapsed()
                let (due, next) = state.withLock { state -> ([@Sendable () -> Void], Duration?) in
                    let dueTokens = state.pending.filter { $0.value.due <= now }.keys
                    let due = dueTokens.compactMap { state.pending.removeValue(forKey: $0)?.fire }
                    // A sleeper that was taken over only fires what is due and stops.
                    guard state.sleeper?.id == id else { return (due, nil) }
                    guard let earliest = state.pending.values.map(\.due).min() else {
                        state.sleeper = nil
                        return (due, nil)
                    }
                    state.sleeper = (id, earliest)
                    return (due, earliest)
                }
                for fire in due { fire() }
                guard let next else { return }
                wakeAt = next
            }
        }
    }
}
