import ProcessLifecycle

/// Every WebSocket connection of this process from `open()` until its cleanup has finished —
/// including connections already replaced in the registry whose unsent frames are still being
/// written to their stream. No task waits on a connection, so graceful shutdown uses this to
/// close them all and wait until their cleanup is done before Redis is closed.
final class LiveConnections: Sendable {
    private struct State {
        var open: [ObjectIdentifier: SessionConnection] = [:]
        var closing = false
    }
    private let state = Locked(State())

    /// Adds `connection`; true when the relay is shutting down (the caller closes it).
    func insert(_ connection: SessionConnection) -> Bool {
        state.withLock { state in
            state.open[ObjectIdentifier(connection)] = connection
            return state.closing
        }
    }

    func remove(_ connection: SessionConnection) {
        state.withLock { _ = $0.open.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    var count: Int { state.withLock { $0.open.count } }

    /// Closes every connection (close frame first); connections opened later are closed by `insert`'s caller.
    func closeAll() {
        let all = state.withLock { state in
            state.closing = true
            return Array(state.open.values)
        }
        // 1001 "going away" behind what is queued; sockets that do not take it close after 1 s.
        for connection in all { connection.session.close(with: .goingAway, grace: .seconds(1)) }
    }

    /// Waits until every connection has cleaned up, or `limit` passed on `stopwatch` (false).
    /// Polls (every 10 ms of real time: a poll, not a timer): this runs once, at shutdown, and
    /// keeps the per-connection path free of waiter bookkeeping. The wait runs in a detached
    /// task so that a cancelled caller still waits (a cancelled sleep would return at once and spin).
    func waitUntilEmpty(limit: Duration, stopwatch: Stopwatch) async -> Bool {
        await Task.detached {
            let deadline = stopwatch.elapsed() + limit
            while self.count > 0 {
                if stopwatch.elapsed() >= deadline { return false }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return true
        }.value
    }
}
