import LMDB

/// Removes items whose deadline has passed, walking the four expiry indexes in deadline order
/// and stopping after `limit` items, so one sweep never holds the writer for long. Damaged
/// records are removed too (their primary key is known from the index) rather than failing
/// every future sweep.
struct ExpirySweep {
    let dbs: Databases

    func run(_ txn: LMDBTransaction, now: StoreTime, limit: Int) throws -> SweepReport {
        var report = SweepReport()
        var remaining = max(0, limit)

        let outboxKeys = try expiredKeys(dbs.outboxExpiry, txn, now: now, limit: remaining, report: &report)
        for indexKey in outboxKeys {
            let seqKey = Array(indexKey.dropFirst(8))
            try txn.delete(dbs.outboxExpiry, indexKey)
            guard let bytes = try txn.get(dbs.outbox, seqKey) else { continue }
            if let entry = try? OutboxEntry(decoding: bytes) {
                try WriterState.deleteOutbox(entry, dbs, txn)
                report.expiredOutbox.append(entry)
                if entry.kind == .request, report.expiredRequestBacklogs[entry.uid] == nil,
                   let raw = try txn.get(dbs.backlog, UIDKey.encode(entry.uid)),
                   let backlog = try? BacklogEntry(decoding: raw), backlog.uid == entry.uid {
                    report.expiredRequestBacklogs[entry.uid] = backlog
                }
            } else {
                try txn.delete(dbs.outbox, seqKey)
            }
        }
        remaining -= outboxKeys.count

        let inboxKeys = try expiredKeys(dbs.inboxExpiry, txn, now: now, limit: remaining, report: &report)
        for indexKey in inboxKeys {
            let key = Array(indexKey.dropFirst(8))
            try txn.delete(dbs.inboxExpiry, indexKey)
            guard let bytes = try txn.get(dbs.inbox, key) else { continue }
            if let pendingSeq = (try? InboxRecord(decoding: bytes))?.pendingSeq {
                try txn.delete(dbs.inboxPending, pendingSeq.bigEndianBytes)
            }
            try txn.delete(dbs.inbox, key)
            report.inboxRemoved += 1
        }
        remaining -= inboxKeys.count

        let backlogKeys = try expiredKeys(dbs.backlogExpiry, txn, now: now, limit: remaining, report: &report)
        for indexKey in backlogKeys {
            try txn.delete(dbs.backlogExpiry, indexKey)
            if try txn.delete(dbs.backlog, Array(indexKey.dropFirst(8))) { report.backlogRemoved += 1 }
        }
        remaining -= backlogKeys.count

        let awaitingKeys = try expiredKeys(dbs.awaitingExpiry, txn, now: now, limit: remaining, report: &report)
        for indexKey in awaitingKeys {
            let key = Array(indexKey.dropFirst(8))
            try txn.delete(dbs.awaitingExpiry, indexKey)
            guard let bytes = try txn.get(dbs.awaiting, key) else { continue }
            if let next = (try? AwaitingRequest(decoding: bytes))?.nextResend {
                try txn.delete(dbs.awaitingDue, IndexKey.expiry(next, key))
            }
            try txn.delete(dbs.awaiting, key)
            report.awaitingRemoved += 1
        }
        return report
    }

    /// Up to `limit` index keys with deadline ≤ now; sets `report.more` if more are waiting.
    private func expiredKeys(_ index: LMDBDatabase, _ txn: LMDBTransaction, now: StoreTime, limit: Int, report: inout SweepReport) throws -> [[UInt8]] {
        var keys: [[UInt8]] = []
        var more = false
        try txn.forEach(index) { key, _ in
            guard let deadline = UInt64(bigEndianBytes: key), deadline <= now.millis else { return .stop }
            if keys.count == limit {
                more = true
                return .stop
            }
            keys.append(key)
            return .continue
        }
        if more { report.more = true }
        return keys
    }
}
