import NIOConcurrencyHelpers

/// Links one blocking call to the connection carrying it, so task cancellation can end the wait
/// (by closing that connection) whether it arrives before, during or after the call.
final class CallCancellation: Sendable {
    private struct State {
        var cancelled = false
        var running: RedisConnection?
    }

    private let state = NIOLockedValueBox(State())

    var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

    /// Returns `false` if already cancelled (the call must not start).
    func start(_ connection: RedisConnection) -> Bool {
        state.withLockedValue { state in
            if state.cancelled { return false }
            state.running = connection
            return true
        }
    }

    func finish() { state.withLockedValue { $0.running = nil } }

    func cancel() {
        let running = state.withLockedValue { state in
            state.cancelled = true
            return state.running
        }
        running?.close()
    }
}
