/// One change to the store. Operations handed to `Store.commit` together are applied atomically
/// in one transaction, e.g. a request's backlog entry and its per-destination outbox entries, or
/// "mark delivered" together with the response it produced.
public enum StoreOperation: Sendable, Hashable {
    /// Adds an outbox entry → `.enqueued(seq)`.
    case enqueue(OutboxDraft)
    /// Records a hand-over to `relay` and reschedules → `.updated(found)`.
    case markAttempt(seq: UInt64, relay: String?, nextAttempt: StoreTime)
    /// Removes an outbox entry (given up, or confirmed and not to be kept) → `.removed(found)`.
    case removeOutbox(seq: UInt64)
    /// A relay confirmed the entry → `.removed(found)`. The entry leaves the outbox; a request
    /// is kept as an ``AwaitingRequest`` (periodic re-send at `resendAt`, nil for none) until
    /// its reply arrives or its deadline passes, unless a reply from its destination is already
    /// in the inbox or it is already kept (a re-sent copy).
    case confirmOutbox(seq: UInt64, resendAt: StoreTime?)
    /// The reply from `destination` arrived: stop keeping the request → `.removed(found)`.
    case removeAwaiting(AwaitingKey)
    /// Queues the kept request again (a new outbox entry, due now, same signed bytes) and sets its
    /// next periodic re-send → `.resent(seq)`, `seq` nil when the request is no longer kept.
    case resendAwaiting(AwaitingKey, nextResend: StoreTime?)
    /// Keeps `reply` with the inbox record of the request it answers (`request` is that
    /// request's inbox key), so a duplicate of the request gets it again → `.updated(found)`;
    /// `found` is false when the request is unknown or expired (nothing is stored then).
    case attachReply(StoredReply, to: InboxKey)
    /// Records a received envelope → `.inbox(.new / .duplicate)`.
    case recordInbox(InboxDraft)
    /// Records a request this peer answers itself (its `rmb.*` plugin) together with the answer:
    /// when the request is new, `reply` is queued in the outbox and kept with the record, in the
    /// same transaction, so a crash can never leave the request recorded but unanswered →
    /// the outcome `recordInbox` gives (`.inbox(.new)`, or for a repeat `.duplicate` / `.answered`).
    case answerInbox(InboxDraft, reply: OutboxDraft)
    /// Drops the payload of a delivered envelope, keeping its key until the deadline → `.updated(found)`.
    case markDelivered(InboxKey)
    /// Stores (or replaces) a backlog entry → `.stored`.
    case putBacklog(BacklogEntry)
    /// Removes a backlog entry → `.removed(found)`.
    case removeBacklog(uid: String)
    /// Removes up to `limit` items whose deadline is ≤ `now` → `.swept(report)`.
    case sweepExpired(now: StoreTime, limit: Int)

    /// Operations that only delete: retried first when the map is full, since they make room.
    var freesSpace: Bool {
        switch self {
        case .removeOutbox, .removeBacklog, .sweepExpired, .markDelivered, .removeAwaiting: true
        case .enqueue, .markAttempt, .recordInbox, .answerInbox, .putBacklog, .confirmOutbox, .resendAwaiting, .attachReply: false
        }
    }
}

/// The result of one `StoreOperation`, in the order the operations were given.
public enum StoreOperationResult: Sendable, Hashable {
    case enqueued(seq: UInt64)
    case updated(found: Bool)
    case removed(found: Bool)
    case inbox(InboxOutcome)
    case stored
    case swept(SweepReport)
    case resent(seq: UInt64?)
}

/// What one expiry sweep removed.
public struct SweepReport: Sendable, Hashable {
    /// Outbox entries that expired before a relay confirmed them (the peer may owe the client
    /// an "undeliverable" reply for these).
    public var expiredOutbox: [OutboxEntry] = []
    /// The backlog entries of the expired outbox requests (by uid), read before the same sweep
    /// may remove them, so the client can still be told on its `ret`.
    public var expiredRequestBacklogs: [String: BacklogEntry] = [:]
    public var inboxRemoved = 0
    public var backlogRemoved = 0
    /// Kept requests whose deadline passed without a reply.
    public var awaitingRemoved = 0
    /// `true` when the limit stopped the sweep with expired items left: sweep again soon.
    public var more = false

    public var total: Int { expiredOutbox.count + inboxRemoved + backlogRemoved + awaitingRemoved }

    public init() {}
}
