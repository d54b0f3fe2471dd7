/// The inbox: every received envelope, keyed by (source twin, uid, kind), so a copy arriving
/// again (via a second relay, or re-sent after a crash) is dropped. The peer queues an
/// envelope's record when it hands it to local Redis (the record may be committed after the
/// push, with the store's next write) and marks it delivered after the push succeeded; after a
/// restart `pending` lists what was recorded but not yet delivered.
public struct Inbox: Sendable {
    let store: Store

    /// Delivery state of a recorded envelope.
    public enum State: Sendable, Hashable {
        case pending
        case delivered
    }

    /// Records a received envelope: `.new` the first time (deliver it, then `markDelivered`),
    /// `.duplicate` for any later copy until its deadline passed and the sweep removed the key.
    public func record(_ draft: InboxDraft) async throws(StoreError) -> InboxOutcome {
        try await store.commitOne(.recordInbox(draft)) { if case let .inbox(outcome) = $0 { outcome } else { nil } }
    }

    /// Drops the stored payload after a successful delivery; the key stays until its deadline.
    /// Returns `false` if the key is unknown (already expired). Idempotent.
    @discardableResult
    public func markDelivered(_ key: InboxKey) async throws(StoreError) -> Bool {
        try await store.commitOne(.markDelivered(key)) { if case let .updated(found) = $0 { found } else { nil } }
    }

    /// The state of `key`, or nil when it was never seen (or has expired and been swept).
    public func state(_ key: InboxKey) throws(StoreError) -> State? {
        let db = store.dbs.inbox
        let bytes = key.bytes
        return try store.read { txn in
            guard let stored = try txn.get(db, bytes) else { return nil }
            return try InboxRecord(decoding: stored).pendingSeq == nil ? .delivered : .pending
        }
    }

    /// Whether any of `keys` is recorded (pending or delivered), in one read transaction.
    public func containsAny(_ keys: [InboxKey]) throws(StoreError) -> Bool {
        guard !keys.isEmpty else { return false }
        let db = store.dbs.inbox
        return try store.read { txn in
            for key in keys where try txn.get(db, key.bytes) != nil { return true }
            return false
        }
    }

    /// Up to `limit` envelopes recorded but not delivered, in arrival order, starting after
    /// `pendingSeq` (pass the last one seen to page through).
    public func pending(after pendingSeq: UInt64 = 0, limit: Int) throws(StoreError) -> [InboxPending] {
        guard limit > 0 else { return [] }
        let dbs = store.dbs
        guard pendingSeq < UInt64.max else { return [] }
        let start = (pendingSeq + 1).bigEndianBytes
        return try store.read { txn in
            var result: [InboxPending] = []
            try txn.forEach(dbs.inboxPending, from: start) { seqKey, inboxKey in
                guard let seq = UInt64(bigEndianBytes: seqKey), let stored = try txn.get(dbs.inbox, inboxKey),
                      let (source, kind) = Self.decodeKey(inboxKey) else { return .continue }
                let record = try InboxRecord(decoding: stored)
                let key = InboxKey(source: source, uid: record.uid, kind: kind)
                result.append(InboxPending(pendingSeq: seq, key: key, deadline: record.deadline, payload: record.payload, receivedAt: record.receivedAt))
                return result.count < limit ? .continue : .stop
            }
            return result
        }
    }

    /// Number of recorded keys (pending and delivered).
    public func count() throws(StoreError) -> Int {
        let db = store.dbs.inbox
        return try store.read { txn in try txn.count(db) }
    }

    /// Number of envelopes awaiting delivery.
    public func pendingCount() throws(StoreError) -> Int {
        let db = store.dbs.inboxPending
        return try store.read { txn in try txn.count(db) }
    }

    /// Source twin and kind from a stored inbox key (the uid comes from the record, since the
    /// key may hold only its hash).
    static func decodeKey(_ bytes: [UInt8]) -> (source: UInt32, kind: EnvelopeKind)? {
        guard bytes.count >= 4 + 2 + 1, let kind = bytes.last.flatMap(EnvelopeKind.init(rawValue:)) else { return nil }
        return (bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, kind)
    }
}
