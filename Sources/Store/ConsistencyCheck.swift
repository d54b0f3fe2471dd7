import LMDB

/// The result of `Store.verifyConsistency()`: every record decodes, every index entry points
/// at its record and every record has its index entries, and the sequence counters are ahead
/// of every stored sequence number. The crash test runs it after each kill -9; the peer can
/// run it at startup and log the problems.
public struct ConsistencyReport: Sendable, Hashable {
    public var outboxEntries = 0
    public var inboxEntries = 0
    public var backlogEntries = 0
    public var awaitingEntries = 0
    /// One line per problem found (empty when consistent).
    public var problems: [String] = []
    public var isConsistent: Bool { problems.isEmpty }
}

extension Store {
    /// Checks the whole store in one read snapshot (reads everything: startup or tests only).
    public func verifyConsistency() throws(StoreError) -> ConsistencyReport {
        let dbs = self.dbs
        return try read { txn in
            var report = ConsistencyReport()
            func problem(_ text: String) { if report.problems.count < 100 { report.problems.append(text) } }
            func counter(_ key: [UInt8]) throws -> UInt64 {
                try txn.get(dbs.meta, key).flatMap { UInt64(bigEndianBytes: $0) } ?? 1
            }
            let nextOutbox = try counter(WriterState.outboxSeqKey)
            let nextInbox = try counter(WriterState.inboxSeqKey)

            // Outbox and its three indexes.
            try txn.forEach(dbs.outbox) { key, value in
                report.outboxEntries += 1
                guard let entry = try? OutboxEntry(decoding: value) else { problem("outbox \(key): undecodable"); return .continue }
                if key != entry.seq.bigEndianBytes { problem("outbox \(entry.seq): stored under another key") }
                if entry.seq >= nextOutbox { problem("outbox \(entry.seq): not below the counter \(nextOutbox)") }
                if try txn.get(dbs.outboxDue, IndexKey.due(entry.nextAttempt, entry.seq)) == nil { problem("outbox \(entry.seq): no due index") }
                if try txn.get(dbs.outboxUID, IndexKey.outboxUID(entry.uid, entry.seq)) == nil { problem("outbox \(entry.seq): no uid index") }
                if try txn.get(dbs.outboxExpiry, IndexKey.expiry(entry.deadline, key)) == nil { problem("outbox \(entry.seq): no expiry index") }
                return .continue
            }
            for (name, index) in [(Databases.outboxDue, dbs.outboxDue), (Databases.outboxUID, dbs.outboxUID), (Databases.outboxExpiry, dbs.outboxExpiry)] {
                let count = try txn.count(index)
                if count != report.outboxEntries { problem("\(name): \(count) keys for \(report.outboxEntries) outbox entries") }
            }

            // Inbox, pending list and expiry index.
            var pendingRecords = 0
            try txn.forEach(dbs.inbox) { key, value in
                report.inboxEntries += 1
                guard let record = try? InboxRecord(decoding: value) else { problem("inbox \(key): undecodable"); return .continue }
                if UIDKey.encode(record.uid) != Array(key.dropFirst(4).dropLast()) { problem("inbox \(record.uid): key does not match") }
                if try txn.get(dbs.inboxExpiry, IndexKey.expiry(record.deadline, key)) == nil { problem("inbox \(record.uid): no expiry index") }
                if let pendingSeq = record.pendingSeq {
                    pendingRecords += 1
                    if pendingSeq >= nextInbox { problem("inbox \(record.uid): pending seq not below the counter") }
                    if try txn.get(dbs.inboxPending, pendingSeq.bigEndianBytes) != key { problem("inbox \(record.uid): pending index missing") }
                }
                return .continue
            }
            let pendingCount = try txn.count(dbs.inboxPending)
            if pendingCount != pendingRecords { problem("inbox.pending: \(pendingCount) keys for \(pendingRecords) pending records") }
            let inboxExpiryCount = try txn.count(dbs.inboxExpiry)
            if inboxExpiryCount != report.inboxEntries { problem("inbox.expiry: \(inboxExpiryCount) keys for \(report.inboxEntries) records") }

            // Backlog and its expiry index.
            try txn.forEach(dbs.backlog) { key, value in
                report.backlogEntries += 1
                guard let entry = try? BacklogEntry(decoding: value) else { problem("backlog \(key): undecodable"); return .continue }
                if UIDKey.encode(entry.uid) != key { problem("backlog \(entry.uid): key does not match") }
                if try txn.get(dbs.backlogExpiry, IndexKey.expiry(entry.deadline, key)) == nil { problem("backlog \(entry.uid): no expiry index") }
                return .continue
            }
            let backlogExpiryCount = try txn.count(dbs.backlogExpiry)
            if backlogExpiryCount != report.backlogEntries { problem("backlog.expiry: \(backlogExpiryCount) keys for \(report.backlogEntries) entries") }

            // Awaiting requests, their due index (only those with a next re-send) and expiry index.
            var scheduled = 0
            try txn.forEach(dbs.awaiting) { key, value in
                report.awaitingEntries += 1
                guard let record = try? AwaitingRequest(decoding: value) else { problem("awaiting \(key): undecodable"); return .continue }
                if record.key.bytes != key { problem("awaiting \(record.key): key does not match") }
                if try txn.get(dbs.awaitingExpiry, IndexKey.expiry(record.deadline, key)) == nil { problem("awaiting \(record.key): no expiry index") }
                if let next = record.nextResend {
                    scheduled += 1
                    if try txn.get(dbs.awaitingDue, IndexKey.expiry(next, key)) == nil { problem("awaiting \(record.key): no due index") }
                }
                return .continue
            }
            let awaitingExpiryCount = try txn.count(dbs.awaitingExpiry)
            if awaitingExpiryCount != report.awaitingEntries { problem("awaiting.expiry: \(awaitingExpiryCount) keys for \(report.awaitingEntries) records") }
            let awaitingDueCount = try txn.count(dbs.awaitingDue)
            if awaitingDueCount != scheduled { problem("awaiting.due: \(awaitingDueCount) keys for \(scheduled) scheduled records") }
            return report
        }
    }
}
