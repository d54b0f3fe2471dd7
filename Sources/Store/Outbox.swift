/// The outbox: envelopes accepted from local applications until a relay confirmed them or
/// they expired. Typical use by the peer's postman:
///
///     let seq = try await store.outbox.enqueue(draft)            // durable before it leaves
///     for entry in try store.outbox.due(now: .now, limit: 64) {
///         send(entry) via the best relay
///         try await store.outbox.markAttempt(seq: entry.seq, relay: url, nextAttempt: now + retry)
///     }
///     ... relay confirmed (pong after the batch) → try await store.outbox.remove(seqs: confirmed)
public struct Outbox: Sendable {
    let store: Store

    /// Stores one entry; returns its sequence number once durable.
    public func enqueue(_ draft: OutboxDraft) async throws(StoreError) -> UInt64 {
        try await store.commitOne(.enqueue(draft)) { if case let .enqueued(seq) = $0 { seq } else { nil } }
    }

    /// Stores several entries atomically (one envelope per destination of one request).
    public func enqueue(_ drafts: [OutboxDraft]) async throws(StoreError) -> [UInt64] {
        let results = try await store.commit(drafts.map(StoreOperation.enqueue))
        return results.compactMap { if case let .enqueued(seq) = $0 { seq } else { nil } }
    }

    /// Records that the entry was handed to `relay` and makes it due again at `nextAttempt`
    /// (unless confirmed and removed before). Returns `false` if the entry is gone.
    @discardableResult
    public func markAttempt(seq: UInt64, relay: String?, nextAttempt: StoreTime) async throws(StoreError) -> Bool {
        try await store.commitOne(.markAttempt(seq: seq, relay: relay, nextAttempt: nextAttempt)) {
            if case let .updated(found) = $0 { found } else { nil }
        }
    }

    /// Removes one entry; `false` if it was already gone.
    @discardableResult
    public func remove(seq: UInt64) async throws(StoreError) -> Bool {
        try await store.commitOne(.removeOutbox(seq: seq)) { if case let .removed(found) = $0 { found } else { nil } }
    }

    /// Removes entries in one transaction (a relay confirmed a batch); returns how many existed.
    @discardableResult
    public func remove(seqs: [UInt64]) async throws(StoreError) -> Int {
        let results = try await store.commit(seqs.map { .removeOutbox(seq: $0) })
        return results.reduce(0) { count, result in
            if case .removed(true) = result { count + 1 } else { count }
        }
    }

    /// Up to `limit` live entries due at `now`, earliest due first (enqueue order among equals).
    /// Expired entries are skipped: ``expiredDue(now:limit:)`` lists them.
    public func due(now: StoreTime = .now, limit: Int) throws(StoreError) -> [OutboxEntry] {
        try dueEntries(now: now, limit: limit, skipping: []) { $0.deadline > now }.entries
    }

    /// ``due(now:limit:)`` without the entries numbered in `skipping`, which are neither read
    /// nor decoded (the postman's entries in flight: a closed loop keeps hundreds of them due
    /// until their confirmations are stored, and reading them all each round cost a peer ~2 %
    /// of its CPU); `skipped` tells whether any due entry was left out so.
    public func due(now: StoreTime = .now, limit: Int, skipping: Set<UInt64>) throws(StoreError) -> (entries: [OutboxEntry], skipped: Bool) {
        try dueEntries(now: now, limit: limit, skipping: skipping) { $0.deadline > now }
    }

    /// Up to `limit` entries due at `now` whose deadline has passed — what ``due(now:limit:)``
    /// skips. The postman drops and reports them as soon as they are due, rather than at the
    /// next sweep (and does not take the due time of an entry it cannot send for work to do).
    public func expiredDue(now: StoreTime = .now, limit: Int) throws(StoreError) -> [OutboxEntry] {
        try dueEntries(now: now, limit: limit, skipping: []) { $0.deadline <= now }.entries
    }

    /// Entries due at `now` that pass `include`, in due order.
    private func dueEntries(now: StoreTime, limit: Int, skipping: Set<UInt64>,
                            where include: (OutboxEntry) -> Bool) throws(StoreError) -> (entries: [OutboxEntry], skipped: Bool) {
        guard limit > 0 else { return ([], false) }
        let dbs = store.dbs
        return try store.read { txn in
            var entries: [OutboxEntry] = []
            var skipped = false
            try txn.forEach(dbs.outboxDue) { key, _ in
                guard let time = UInt64(bigEndianBytes: key), time <= now.millis else { return .stop }
                guard let seq = UInt64(bigEndianBytes: key, at: 8) else { return .continue }
                if skipping.contains(seq) {
                    skipped = true
                    return .continue
                }
                guard let bytes = try txn.get(dbs.outbox, seq.bigEndianBytes) else { return .continue }
                let entry = try OutboxEntry(decoding: bytes)
                if include(entry) { entries.append(entry) }
                return entries.count < limit ? .continue : .stop
            }
            return (entries, skipped)
        }
    }

    /// When the earliest entry becomes due (nil when the outbox is empty): the postman sleeps
    /// until then instead of polling.
    public func nextDueTime() throws(StoreError) -> StoreTime? {
        let dbs = store.dbs
        return try store.read { txn in
            var first: StoreTime?
            try txn.forEach(dbs.outboxDue) { key, _ in
                first = UInt64(bigEndianBytes: key).map(StoreTime.init(millis:))
                return .stop
            }
            return first
        }
    }

    /// The entry with sequence number `seq`, if present.
    public func entry(seq: UInt64) throws(StoreError) -> OutboxEntry? {
        let dbs = store.dbs
        return try store.read { txn in
            try txn.get(dbs.outbox, seq.bigEndianBytes).map { bytes in try OutboxEntry(decoding: bytes) }
        }
    }

    /// All entries with envelope uid `uid` (one per destination), in enqueue order.
    public func entries(uid: String) throws(StoreError) -> [OutboxEntry] {
        let dbs = store.dbs
        let prefix = UIDKey.encode(uid)
        return try store.read { txn in
            var entries: [OutboxEntry] = []
            try txn.forEach(dbs.outboxUID, from: prefix) { key, _ in
                guard key.count == prefix.count + 8, key.starts(with: prefix),
                      let seq = UInt64(bigEndianBytes: key, at: prefix.count) else { return .stop }
                if let bytes = try txn.get(dbs.outbox, seq.bigEndianBytes) {
                    entries.append(try OutboxEntry(decoding: bytes))
                }
                return .continue
            }
            return entries
        }
    }

    /// Number of entries.
    public func count() throws(StoreError) -> Int {
        let db = store.dbs.outbox
        return try store.read { txn in try txn.count(db) }
    }
}
