import Synchronization

/// What verification adds for a key A: the odd multiples of −A (cheap to make: a key's first
/// uses) or, once the key proves frequent, the fixed-base table of −A (a third of the work per
/// verification, about one verification's worth to build).
@available(macOS 15.0, *)
enum VerificationTable: Sendable {
    case oddMultiples(VartimeDoubleScalar.OddMultiples)
    case fixedBase(FixedBaseTable)
}

/// Recently used sr25519 public keys, decoded and expanded to what verification adds: a peer
/// checks the same few senders over and over. Every key starts with its odd multiples; a key
/// verified ``usesBeforeFixedBase`` times gets a fixed-base table, kept for the
/// `fixedBaseCapacity` most recently promoted keys (30 KiB each). Should more keys than that be
/// frequent at once, each is promoted again only after another ``usesBeforeFixedBase`` uses, so
/// rebuilding costs at most about an eighth of a verification per use. Both maps are bounded
/// (oldest entry out first) and lock-protected; only valid keys are stored, so invalid ones
/// cannot evict anything.
@available(macOS 15.0, *)
final class VerificationKeyCache: Sendable {
    static let shared = VerificationKeyCache(capacity: 1024, fixedBaseCapacity: 128)
    static let usesBeforeFixedBase = 8

    private struct Entry {
        let negated: EdwardsPoint
        let oddMultiples: VartimeDoubleScalar.OddMultiples
        var uses = 1
    }

    /// Keys in insertion order as a ring: `order[next]` is the oldest once the ring is full.
    private struct Ring<Value> {
        var values: [FieldElement.Words: Value] = [:]
        var order: [FieldElement.Words] = []
        var next = 0

        mutating func insert(_ value: Value, for key: FieldElement.Words, capacity: Int) {
            guard values[key] == nil else { return }
            if order.count < capacity {
                order.append(key)
            } else {
                values[order[next]] = nil
                order[next] = key
                next = (next + 1) % capacity
            }
            values[key] = value
        }
    }

    private struct State {
        var keys = Ring<Entry>()
        var fixedBase = Ring<FixedBaseTable>()
    }

    let capacity: Int
    let fixedBaseCapacity: Int
    private let state = Mutex(State())

    init(capacity: Int, fixedBaseCapacity: Int = 0) {
        self.capacity = max(1, capacity)
        self.fixedBaseCapacity = max(0, fixedBaseCapacity)
    }

    /// The table for a canonical ristretto255 key, `nil` for an invalid encoding.
    func table(for key: FieldElement.Words) -> VerificationTable? {
        let fixedBaseCapacity = self.fixedBaseCapacity
        let found = state.withLock { state -> (table: VerificationTable, promote: EdwardsPoint?)? in
            if let table = state.fixedBase.values[key] { return (.fixedBase(table), nil) }
            guard var entry = state.keys.values[key] else { return nil }
            entry.uses += 1
            let promote = fixedBaseCapacity > 0 && entry.uses >= Self.usesBeforeFixedBase
            if promote { entry.uses = 0 }
            state.keys.values[key] = entry
            return (.oddMultiples(entry.oddMultiples), promote ? entry.negated : nil)
        }
        if let found {
            guard let negated = found.promote else { return found.table }
            // Built outside the lock; two threads promoting one key both build it, harmlessly.
            let table = FixedBaseTable(negated)
            state.withLock { $0.fixedBase.insert(table, for: key, capacity: fixedBaseCapacity) }
            return .fixedBase(table)
        }
        // Decoded outside the lock; two threads racing on a new key both decode it, harmlessly.
        guard let point = EdwardsPoint(ristretto: key) else { return nil }
        let negated = -point
        let entry = Entry(negated: negated, oddMultiples: VartimeDoubleScalar.OddMultiples(negated))
        let capacity = self.capacity
        state.withLock { $0.keys.insert(entry, for: key, capacity: capacity) }
        return .oddMultiples(entry.oddMultiples)
    }

    /// Keys held (each with its odd multiples).
    var count: Int { state.withLock { $0.keys.values.count } }

    /// Keys holding a fixed-base table.
    var fixedBaseCount: Int { state.withLock { $0.fixedBase.values.count } }
}
