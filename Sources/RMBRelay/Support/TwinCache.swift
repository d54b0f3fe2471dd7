import TwinDirectory
import Foundation

/// A short-lived cache in front of a `TwinDirectory` that also remembers *missing* twins, so
/// unauthenticated clients cannot make the relay repeat directory (chain) lookups for
/// non-existent twins (known-gaps §4). Errors are not cached.
public final class TwinCache: TwinDirectory {
    private struct Entry { var twin: Twin?; var expires: ContinuousClock.Instant }

    private let base: any TwinDirectory
    private let positiveTTL: Duration
    private let negativeTTL: Duration
    private let capacity: Int
    private let entries = Locked<[UInt32: Entry]>([:])
    private let metrics: RelayMetrics?

    public convenience init(_ base: any TwinDirectory, positiveTTL: Duration = .seconds(60), negativeTTL: Duration = .seconds(30), capacity: Int = 100_000) {
        self.init(base, positiveTTL: positiveTTL, negativeTTL: negativeTTL, capacity: capacity, metrics: nil)
    }

    /// With `metrics`, misses and flushes are counted (`rmb_cache_misses_total`, `rmb_cache_flushes_total`).
    init(_ base: any TwinDirectory, positiveTTL: Duration = .seconds(60), negativeTTL: Duration = .seconds(30), capacity: Int = 100_000,
         metrics: RelayMetrics?) {
        self.metrics = metrics
        self.base = base
        self.positiveTTL = positiveTTL
        self.negativeTTL = negativeTTL
        self.capacity = max(1, capacity)
    }

    /// The cached answer (`.some(nil)` = known missing), or nil on a miss.
    func cached(id: UInt32) -> Twin?? {
        let now = ContinuousClock.now
        return entries.withLock { table -> Twin?? in
            guard let entry = table[id], entry.expires > now else { return nil }
            return .some(entry.twin)
        }
    }

    public func twin(id: UInt32) async throws -> Twin? {
        if let hit = cached(id: id) { return hit }
        metrics?.cacheMisses.increment()
        let found = try await base.twin(id: id)
        let expires = ContinuousClock.now + (found == nil ? negativeTTL : positiveTTL)
        let flushed = entries.withLock { table in
            let full = table.count >= capacity
            if full { table.removeAll(keepingCapacity: true) }
            table[id] = Entry(twin: found, expires: expires)
            return full
        }
        if flushed { metrics?.cacheFlushes.increment() }
        return found
    }

    public func twinID(account: AccountID) async throws -> UInt32? {
        try await base.twinID(account: account)
    }

    /// Replaces the entry with a twin seen in a chain event (a fresh positive TTL).
    func store(_ twin: Twin) {
        let expires = ContinuousClock.now + positiveTTL
        let flushed = entries.withLock { table in
            let full = table.count >= capacity && table[twin.id] == nil
            if full { table.removeAll(keepingCapacity: true) }
            table[twin.id] = Entry(twin: twin, expires: expires)
            return full
        }
        if flushed { metrics?.cacheFlushes.increment() }
    }

    /// Forgets one twin: the next lookup reads the directory again.
    func invalidate(id: UInt32) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// Forgets everything (events were missed).
    func removeAll() {
        entries.withLock { $0.removeAll(keepingCapacity: true) }
        metrics?.cacheFlushes.increment()
    }

    /// Entries held (expired ones included until replaced): `rmb_cache_entries`.
    var count: Int { entries.withLock { $0.count } }
}

import RMBIdentity
