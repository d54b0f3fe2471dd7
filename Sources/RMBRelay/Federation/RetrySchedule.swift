/// Federation entries this process owns right now: in flight, or waiting for a retry.
///
/// A transient failure must not hold one of the worker's concurrency slots while it backs off
/// (known-gaps §17: with every slot sleeping on a dead relay, envelopes for live relays would
/// wait behind them). So the entry's id goes here with a due time instead, and the worker's
/// loop picks it up again when it is due. Only the id is kept (the bytes are fetched again when
/// the entry is re-claimed), and the table is bounded: an entry that does not fit stays
/// pending in Redis and comes back through XAUTOCLAIM once it is idle.
final class RetrySchedule: Sendable {
    struct Item: Sendable, Equatable {
        var id: String
        var attempt: Int
        /// On the relay's stopwatch (time since it started).
        var due: Duration
    }

    private struct State {
        var waiting: [String: Item] = [:]
        var inFlight: Set<String> = []
    }

    private let state = Locked(State())
    let capacity: Int

    init(capacity: Int = 100_000) { self.capacity = max(1, capacity) }

    /// Marks `id` as being processed here; false when it already is (in flight or waiting), so a
    /// reclaim that returns our own entry does not process it twice.
    func begin(_ id: String) -> Bool {
        state.withLock { state in
            if state.inFlight.contains(id) || state.waiting[id] != nil { return false }
            state.inFlight.insert(id)
            return true
        }
    }

    /// The entry is done (acked, or given up to Redis).
    func end(_ id: String) {
        _ = state.withLock { $0.inFlight.remove(id) }
    }

    /// Moves an in-flight entry to the waiting table; false when the table is full (the entry
    /// is then no longer ours in memory and will be reclaimed from Redis when idle).
    func postpone(_ id: String, attempt: Int, until due: Duration) -> Bool {
        state.withLock { state in
            state.inFlight.remove(id)
            guard state.waiting.count < capacity else { return false }
            state.waiting[id] = Item(id: id, attempt: attempt, due: due)
            return true
        }
    }

    /// Entries due at `now` (the relay's stopwatch), moved back to in flight (oldest due first,
    /// at most `limit`).
    func takeDue(now: Duration, limit: Int) -> [Item] {
        state.withLock { state in
            let due = state.waiting.values.filter { $0.due <= now }.sorted { $0.due < $1.due }.prefix(limit)
            for item in due {
                state.waiting[item.id] = nil
                state.inFlight.insert(item.id)
            }
            return Array(due)
        }
    }

    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
