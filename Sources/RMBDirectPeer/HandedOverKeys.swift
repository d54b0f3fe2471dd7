import NIOCore
import Synchronization

/// Keys of messages handed to the application, each until its ttl ends: a direct peer's
/// counterpart of rmb-peer's Redis delivery markers. Two copies of an envelope handed off before
/// either's inbox record was committed (they came through two relays at once) reach the
/// application once. Bounded: past `capacity` keys, the oldest are forgotten first (the inbox,
/// the durable guard, still knows them once their records are committed).
final class HandedOverKeys: Sendable {
    private struct State {
        var expiries: [String: UInt64] = [:]
        /// Insertion order, for forgetting the oldest first.
        var order = CircularBuffer<(key: String, expiry: UInt64)>()
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int = 100_000) { self.capacity = max(1, capacity) }

    /// True when `key` was not handed over (or its ttl ended): it is recorded now.
    func insert(_ key: String, now: UInt64, ttlSeconds: Int64) -> Bool {
        state.withLock { state in
            if let expiry = state.expiries[key], expiry > now { return false }
            let expiry = now &+ UInt64(max(1, ttlSeconds)) &* 1000
            state.expiries[key] = expiry
            state.order.append((key, expiry))
            while let oldest = state.order.first, oldest.expiry <= now || state.order.count > capacity {
                state.order.removeFirst()
                // A key handed over again later has a newer entry; only its own entry removes it.
                if state.expiries[oldest.key] == oldest.expiry { state.expiries[oldest.key] = nil }
            }
            return true
        }
    }

    var count: Int { state.withLock { $0.expiries.count } }
}
