/// Requests a relay confirmed whose reply has not arrived yet (``AwaitingRequest``), so the peer
/// can re-send them: once after a restart (replies in flight while it was down are lost), and
/// periodically for a request unanswered for long. Typical use:
///
///     postman:     store.commit(confirmed.map { .confirmOutbox(seq: $0.seq, resendAt: policy($0)) })
///     downstream:  reply from twin T for uid U → .removeAwaiting(AwaitingKey(uid: U, destination: T))
///     resender:    for r in store.awaiting.due(now: .now, limit: 256) { .resendAwaiting(r.key, nextResend: …) }
///
/// Records leave with their reply, or with the expiry sweep at the request's deadline.
public struct Awaiting: Sendable {
    let store: Store

    /// The record for `key`, or nil.
    public func get(_ key: AwaitingKey) throws(StoreError) -> AwaitingRequest? {
        let db = store.dbs.awaiting
        let bytes = key.bytes
        return try store.read { txn in try txn.get(db, bytes).map { bytes in try AwaitingRequest(decoding: bytes) } }
    }

    /// Up to `limit` live records whose periodic re-send is due at `now`, earliest first.
    public func due(now: StoreTime = .now, limit: Int) throws(StoreError) -> [AwaitingRequest] {
        guard limit > 0 else { return [] }
        let dbs = store.dbs
        return try store.read { txn in
            var records: [AwaitingRequest] = []
            try txn.forEach(dbs.awaitingDue) { indexKey, _ in
                guard let time = UInt64(bigEndianBytes: indexKey), time <= now.millis else { return .stop }
                guard let bytes = try txn.get(dbs.awaiting, Array(indexKey.dropFirst(8))) else { return .continue }
                let record = try AwaitingRequest(decoding: bytes)
                if record.deadline > now { records.append(record) }
                return records.count < limit ? .continue : .stop
            }
            return records
        }
    }

    /// Up to `limit` records in key order, starting after `key` (pass the last one seen to page
    /// through all of them, e.g. to re-send everything after a restart). Records past their
    /// deadline but not yet swept are included, so a page is never empty before the end.
    public func entries(after key: AwaitingKey? = nil, limit: Int) throws(StoreError) -> [AwaitingRequest] {
        guard limit > 0 else { return [] }
        let db = store.dbs.awaiting
        let start = key?.bytes
        return try store.read { txn in
            var records: [AwaitingRequest] = []
            try txn.forEach(db, from: start) { storedKey, bytes in
                if let start, storedKey == start { return .continue }
                records.append(try AwaitingRequest(decoding: bytes))
                return records.count < limit ? .continue : .stop
            }
            return records
        }
    }

    /// Number of records (including expired ones not yet swept).
    public func count() throws(StoreError) -> Int {
        let db = store.dbs.awaiting
        return try store.read { txn in try txn.count(db) }
    }
}
