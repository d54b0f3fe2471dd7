/// The backlog: for each outgoing request, where its replies go and which twins may send them.
/// Not deleted when a reply arrives (every destination replies, peer.md §4.2); the expiry sweep
/// removes it at the deadline, after which late replies are dropped.
public struct Backlog: Sendable {
    let store: Store

    /// Stores or replaces the entry for `entry.uid`. Prefer committing it together with the
    /// request's outbox entries: `store.commit([.putBacklog(b), .enqueue(d1), .enqueue(d2)])`.
    public func put(_ entry: BacklogEntry) async throws(StoreError) {
        _ = try await store.commitOne(.putBacklog(entry)) { if case .stored = $0 { true } else { nil } }
    }

    /// The entry for `uid`, or nil (never stored, removed, or swept after its deadline). An entry
    /// past its deadline but not yet swept is also reported as nil.
    public func get(uid: String, now: StoreTime = .now) throws(StoreError) -> BacklogEntry? {
        let db = store.dbs.backlog
        let key = UIDKey.encode(uid)
        let entry = try store.read { txn in try txn.get(db, key).map { bytes in try BacklogEntry(decoding: bytes) } }
        guard let entry, entry.deadline > now, entry.uid == uid else { return nil }
        return entry
    }

    /// Removes the entry; `false` if there was none.
    @discardableResult
    public func remove(uid: String) async throws(StoreError) -> Bool {
        try await store.commitOne(.removeBacklog(uid: uid)) { if case let .removed(found) = $0 { found } else { nil } }
    }

    /// Number of entries (including expired ones not yet swept).
    public func count() throws(StoreError) -> Int {
        let db = store.dbs.backlog
        return try store.read { txn in try txn.count(db) }
    }
}
