import Synchronization

/// Wakes a sleeping loop early: `ring()` from producers, `wait(upTo:)` in the consumer. A ring
/// while nobody waits is remembered, so no wake-up is lost.
///
/// A lock rather than an actor: producers ring once per batch on the hot path, and a ring is
/// then a few instructions on the caller's thread instead of a new task. The timeout is one
/// sleeping task shared by consecutive waits (a wait may end early when it fires, which the
/// loops that wait here treat as any other wake-up), not a new timer per wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        /// When the current sleeper task fires, if one runs.
        var sleeperFires: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    /// Same as `ring()`; ringing never blocks.
    func ringLater() { ring() }

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns after a ring, or after about `timeout` (possibly earlier, never much later).
    func wait(upTo timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let deadline = ContinuousClock.now + timeout
            let (ready, newSleeper) = state.withLock { state -> (Bool, Bool) in
                if state.rung {
                    state.rung = false
                    return (true, false)
                }
                state.waiter = continuation
                if let fires = state.sleeperFires, fires <= deadline { return (false, false) }
                state.sleeperFires = deadline
                return (false, true)
            }
            if ready { return continuation.resume() }
            if newSleeper {
                Task { [weak self] in
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    self?.fire(deadline)
                }
            }
        }
    }

    private func fire(_ deadline: ContinuousClock.Instant) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.sleeperFires == deadline { state.sleeperFires = nil }
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}
