import LMDB

/// The operations that keep what is needed to recover a reply lost in flight (issue 5): the
/// requester keeps its confirmed requests (`awaiting`) until their replies arrive, the responder
/// keeps its replies with the requests' inbox records. Writer thread only, like `WriterState`.
extension WriterState {
    // MARK: Requester: awaiting replies

    func confirmOutbox(_ seq: UInt64, resendAt: StoreTime?, _ txn: LMDBTransaction, now: StoreTime) throws -> Bool {
        guard let bytes = try txn.get(dbs.outbox, seq.bigEndianBytes) else { return false }
        let entry = try OutboxEntry(decoding: bytes)
        try Self.deleteOutbox(entry, dbs, txn)
        guard entry.kind == .request, entry.deadline > now else { return true }
        let key = AwaitingKey(uid: entry.uid, destination: entry.destination)
        // A re-sent copy: the record is already there with its schedule.
        if try txn.get(dbs.awaiting, key.bytes) != nil { return true }
        // The reply can overtake the relay's confirmation: nothing left to wait for then.
        for kind in [EnvelopeKind.response, .error] {
            if try txn.get(dbs.inbox, InboxKey(source: entry.destination, uid: entry.uid, kind: kind).bytes) != nil { return true }
        }
        let record = AwaitingRequest(uid: entry.uid, destination: entry.destination, envelope: entry.payload, deadline: entry.deadline,
                                     confirmedAt: now, nextResend: resendAt.flatMap { $0 < entry.deadline ? $0 : nil })
        try putAwaiting(record, txn)
        return true
    }

    func removeAwaiting(_ key: AwaitingKey, _ txn: LMDBTransaction) throws -> Bool {
        guard let bytes = try txn.get(dbs.awaiting, key.bytes) else { return false }
        try Self.deleteAwaiting(try AwaitingRequest(decoding: bytes), dbs, txn)
        return true
    }

    func resendAwaiting(_ key: AwaitingKey, nextResend: StoreTime?, _ txn: LMDBTransaction, now: StoreTime) throws -> UInt64? {
        guard let bytes = try txn.get(dbs.awaiting, key.bytes) else { return nil }
        var record = try AwaitingRequest(decoding: bytes)
        guard record.deadline > now else { return nil }
        let seq = try enqueue(OutboxDraft(uid: record.uid, destination: record.destination, kind: .request, payload: record.envelope,
                                          deadline: record.deadline, notBefore: now), txn, now: now)
        if let due = record.nextResend { try txn.delete(dbs.awaitingDue, IndexKey.expiry(due, key.bytes)) }
        record.resends &+= 1
        record.nextResend = nextResend.flatMap { $0 < record.deadline ? $0 : nil }
        try putAwaiting(record, txn, indexExpiry: false)
        return seq
    }

    /// Writes `record` with its due index (and its expiry index when new).
    private func putAwaiting(_ record: AwaitingRequest, _ txn: LMDBTransaction, indexExpiry: Bool = true) throws {
        let key = record.key.bytes
        try txn.put(dbs.awaiting, key, record.encoded())
        if let due = record.nextResend { try txn.put(dbs.awaitingDue, IndexKey.expiry(due, key), []) }
        if indexExpiry { try txn.put(dbs.awaitingExpiry, IndexKey.expiry(record.deadline, key), []) }
    }

    /// Deletes an awaiting record and its index keys.
    static func deleteAwaiting(_ record: AwaitingRequest, _ dbs: Databases, _ txn: LMDBTransaction) throws {
        let key = record.key.bytes
        try txn.delete(dbs.awaiting, key)
        if let due = record.nextResend { try txn.delete(dbs.awaitingDue, IndexKey.expiry(due, key)) }
        try txn.delete(dbs.awaitingExpiry, IndexKey.expiry(record.deadline, key))
    }

    // MARK: Responder: replies kept for duplicate requests

    func attachReply(_ reply: StoredReply, to request: InboxKey, _ txn: LMDBTransaction) throws -> Bool {
        let key = request.bytes
        guard let bytes = try txn.get(dbs.inbox, key) else { return false }
        var record = try InboxRecord(decoding: bytes)
        // The first reply is the one the requester may have; a later one (a confused service
        // answering twice) is sent but not kept.
        guard record.reply == nil else { return true }
        record.reply = reply
        try txn.put(dbs.inbox, key, record.encoded())
        return true
    }
}
