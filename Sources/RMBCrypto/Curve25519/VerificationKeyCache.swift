import Synchronization

/// Recently used sr25519 public keys, decoded and expanded to the odd multiples of −A that
/// verification adds: a peer checks the same few senders over and over, and the decode and the
/// table are about a tenth of a verification. Bounded (oldest entry out first) and lock-protected;
/// only valid keys are stored, so invalid ones cannot evict anything.
@available(macOS 15.0, *)
final class VerificationKeyCache: Sendable {
    static let shared = VerificationKeyCache(capacity: 1024)

    private struct State {
        var tables: [FieldElement.Words: VartimeDoubleScalar.OddMultiples] = [:]
        /// Insertion order as a ring: `order[next]` is the oldest key once the ring is full.
        var order: [FieldElement.Words] = []
        var next = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The odd multiples of −A for a canonical ristretto255 key, `nil` for an invalid encoding.
    func negatedOddMultiples(of key: FieldElement.Words) -> VartimeDoubleScalar.OddMultiples? {
        if let cached = state.withLock({ $0.tables[key] }) { return cached }
        // Decode outside the lock; two threads racing on a new key both compute it, harmlessly.
        guard let point = EdwardsPoint(ristretto: key) else { return nil }
        let table = VartimeDoubleScalar.OddMultiples(-point)
        state.withLock { state in
            guard state.tables[key] == nil else { return }
            if state.order.count < capacity {
                state.order.append(key)
            } else {
                state.tables[state.order[state.next]] = nil
                state.order[state.next] = key
                state.next = (state.next + 1) % capacity
            }
            state.tables[key] = table
        }
        return table
    }

    var count: Int { state.withLock { $0.tables.count } }
}
