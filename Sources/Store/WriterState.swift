import LMDB

/// Applies `StoreOperation`s inside a write transaction. Lives on the writer thread only (it is
/// not `Sendable`): the counters are plain fields, saved before each transaction and restored
/// when it aborts, and persisted in `meta` by the transaction that advanced them so a reopened
/// store never reuses a sequence number that was written. Outbox numbers come from
/// `outboxSequence`, shared with callers who reserve them ahead; the counter saved is one past
/// the highest written (a number reserved and never written may come again after a restart:
/// nothing holds it).
final class WriterState {
    struct Counters: Equatable {
        var nextOutboxSeq: UInt64 = 1
        var nextInboxSeq: UInt64 = 1
    }

    static let outboxSeqKey = Array("next.outbox.seq".utf8)
    static let inboxSeqKey = Array("next.inbox.seq".utf8)

    let dbs: Databases
    let outboxSequence: OutboxSequence
    var counters: Counters
    private var persisted: Counters

    init(dbs: Databases, env: LMDBEnvironment) throws {
        self.dbs = dbs
        let loaded = try env.read { txn in
            Counters(
                nextOutboxSeq: try Self.readCounter(txn, dbs.meta, Self.outboxSeqKey),
                nextInboxSeq: try Self.readCounter(txn, dbs.meta, Self.inboxSeqKey)
            )
        }
        outboxSequence = OutboxSequence(startingAt: loaded.nextOutboxSeq)
        counters = loaded
        persisted = loaded
    }

    private static func readCounter(_ txn: LMDBTransaction, _ db: LMDBDatabase, _ key: [UInt8]) throws -> UInt64 {
        guard let bytes = try txn.get(db, key) else { return 1 }
        guard bytes.count == 8, let value = UInt64(bigEndianBytes: bytes) else {
            throw StoreError.corrupt(database: Databases.meta, reason: "bad counter \(String(decoding: key, as: UTF8.self))")
        }
        return max(1, value)
    }

    /// Writes advanced counters into `meta` (part of the same transaction as the operations).
    func persistCounters(_ txn: LMDBTransaction) throws {
        if counters.nextOutboxSeq != persisted.nextOutboxSeq {
            try txn.put(dbs.meta, Self.outboxSeqKey, counters.nextOutboxSeq.bigEndianBytes)
        }
        if counters.nextInboxSeq != persisted.nextInboxSeq {
            try txn.put(dbs.meta, Self.inboxSeqKey, counters.nextInboxSeq.bigEndianBytes)
        }
    }

    /// Call after a successful commit.
    func committed() { persisted = counters }

    /// Call after an aborted transaction: forget what it advanced.
    func rolledBack() { counters = persisted }

    /// Applies one operation. Operations validate (read) before they write, so a thrown
    /// `StoreError` leaves nothing half-done of this operation; LMDB errors abort the transaction.
    func apply(_ operation: StoreOperation, _ txn: LMDBTransaction, now: StoreTime) throws -> StoreOperationResult {
        switch operation {
        case let .enqueue(draft):
            return .enqueued(seq: try enqueue(draft, txn, now: now))
        case let .markAttempt(seq, relay, nextAttempt):
            return .updated(found: try markAttempt(seq, relay: relay, nextAttempt: nextAttempt, txn))
        case let .removeOutbox(seq):
            return .removed(found: try removeOutbox(seq, txn))
        case let .recordInbox(draft):
            return .inbox(try recordInbox(draft, txn, now: now))
        case let .answerInbox(draft, reply):
            let outcome = try recordInbox(draft, txn, now: now)
            if case .new = outcome {
                _ = try enqueue(reply, txn, now: now)
                _ = try attachReply(StoredReply(kind: reply.kind, envelope: reply.payload, deadline: reply.deadline), to: draft.key, txn)
            }
            return .inbox(outcome)
        case let .markDelivered(key):
            return .updated(found: try markDelivered(key, txn))
        case let .putBacklog(entry):
            try putBacklog(entry, txn)
            return .stored
        case let .removeBacklog(uid):
            return .removed(found: try removeBacklog(uid, txn))
        case let .sweepExpired(now, limit):
            return .swept(try ExpirySweep(dbs: dbs).run(txn, now: now, limit: limit))
        case let .confirmOutbox(seq, resendAt):
            return .removed(found: try confirmOutbox(seq, resendAt: resendAt, txn, now: now))
        case let .removeAwaiting(key):
            return .removed(found: try removeAwaiting(key, txn))
        case let .resendAwaiting(key, nextResend):
            return .resent(seq: try resendAwaiting(key, nextResend: nextResend, txn, now: now))
        case let .attachReply(reply, request):
            return .updated(found: try attachReply(reply, to: request, txn))
        }
    }

    // MARK: Outbox

    func enqueue(_ draft: OutboxDraft, _ txn: LMDBTransaction, now: StoreTime) throws -> UInt64 {
        let seq = draft.reservedSeq ?? outboxSequence.take()
        counters.nextOutboxSeq = max(counters.nextOutboxSeq, seq + 1)
        let entry = OutboxEntry(seq: seq, draft: draft, enqueuedAt: now)
        let key = seq.bigEndianBytes
        try txn.put(dbs.outbox, key, entry.encoded(), flags: .noOverwrite)
        try txn.put(dbs.outboxDue, IndexKey.due(entry.nextAttempt, seq), [])
        try txn.put(dbs.outboxUID, IndexKey.outboxUID(entry.uid, seq), [])
        try txn.put(dbs.outboxExpiry, IndexKey.expiry(entry.deadline, key), [])
        return seq
    }

    private func markAttempt(_ seq: UInt64, relay: String?, nextAttempt: StoreTime, _ txn: LMDBTransaction) throws -> Bool {
        let key = seq.bigEndianBytes
        guard let bytes = try txn.get(dbs.outbox, key) else { return false }
        var entry = try OutboxEntry(decoding: bytes)
        try txn.delete(dbs.outboxDue, IndexKey.due(entry.nextAttempt, seq))
        entry.attempts &+= 1
        entry.lastRelay = relay
        entry.nextAttempt = nextAttempt
        try txn.put(dbs.outbox, key, entry.encoded())
        try txn.put(dbs.outboxDue, IndexKey.due(nextAttempt, seq), [])
        return true
    }

    private func removeOutbox(_ seq: UInt64, _ txn: LMDBTransaction) throws -> Bool {
        let key = seq.bigEndianBytes
        guard let bytes = try txn.get(dbs.outbox, key) else { return false }
        let entry = try OutboxEntry(decoding: bytes)
        try Self.deleteOutbox(entry, dbs, txn)
        return true
    }

    /// Deletes an outbox entry and its three index keys.
    static func deleteOutbox(_ entry: OutboxEntry, _ dbs: Databases, _ txn: LMDBTransaction) throws {
        let key = entry.seq.bigEndianBytes
        try txn.delete(dbs.outbox, key)
        try txn.delete(dbs.outboxDue, IndexKey.due(entry.nextAttempt, entry.seq))
        try txn.delete(dbs.outboxUID, IndexKey.outboxUID(entry.uid, entry.seq))
        try txn.delete(dbs.outboxExpiry, IndexKey.expiry(entry.deadline, key))
    }

    // MARK: Inbox

    private func recordInbox(_ draft: InboxDraft, _ txn: LMDBTransaction, now: StoreTime) throws -> InboxOutcome {
        let key = draft.key.bytes
        if let existing = try txn.get(dbs.inbox, key) {
            var record = try InboxRecord(decoding: existing)
            if let reply = record.replyToResend(now: now) {
                try txn.put(dbs.inbox, key, record.encoded())
                return .answered(reply: reply)
            }
            return .duplicate(delivered: record.pendingSeq == nil)
        }
        let pendingSeq = counters.nextInboxSeq
        counters.nextInboxSeq += 1
        let record = InboxRecord(uid: draft.key.uid, deadline: draft.deadline, receivedAt: now, pendingSeq: pendingSeq, payload: draft.payload)
        try txn.put(dbs.inbox, key, record.encoded())
        try txn.put(dbs.inboxPending, pendingSeq.bigEndianBytes, key, flags: .noOverwrite)
        try txn.put(dbs.inboxExpiry, IndexKey.expiry(draft.deadline, key), [])
        return .new(pendingSeq: pendingSeq)
    }

    private func markDelivered(_ inboxKey: InboxKey, _ txn: LMDBTransaction) throws -> Bool {
        let key = inboxKey.bytes
        guard let bytes = try txn.get(dbs.inbox, key) else { return false }
        var record = try InboxRecord(decoding: bytes)
        guard let pendingSeq = record.pendingSeq else { return true }
        try txn.delete(dbs.inboxPending, pendingSeq.bigEndianBytes)
        record.pendingSeq = nil
        record.payload = []
        try txn.put(dbs.inbox, key, record.encoded())
        return true
    }

    // MARK: Backlog

    private func putBacklog(_ entry: BacklogEntry, _ txn: LMDBTransaction) throws {
        let key = UIDKey.encode(entry.uid)
        if let existing = try txn.get(dbs.backlog, key) {
            let old = try BacklogEntry(decoding: existing)
            try txn.delete(dbs.backlogExpiry, IndexKey.expiry(old.deadline, key))
        }
        try txn.put(dbs.backlog, key, entry.encoded())
        try txn.put(dbs.backlogExpiry, IndexKey.expiry(entry.deadline, key), [])
    }

    private func removeBacklog(_ uid: String, _ txn: LMDBTransaction) throws -> Bool {
        let key = UIDKey.encode(uid)
        guard let bytes = try txn.get(dbs.backlog, key) else { return false }
        let entry = try BacklogEntry(decoding: bytes)
        try txn.delete(dbs.backlog, key)
        try txn.delete(dbs.backlogExpiry, IndexKey.expiry(entry.deadline, key))
        return true
    }
}
