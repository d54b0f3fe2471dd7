/// One change to the store. Operations handed to `Store.commit` together are applied atomically
/// in one transaction, e.g. a request's backlog entry and its per-destination outbox entries, or
/// "mark delivered" together with the response it produced.
public enum StoreOperation: Sendable, Hashable {
    /// Adds an outbox entry → `.enqueued(seq)`.
    case enqueue(OutboxDraft)
    /// Records a hand-over to `relay` and reschedules → `.updated(found)`.
    case markAttempt(seq: UInt64, relay: String?, nextAttempt: StoreTime)
    /// Removes an outbox entry (confirmed by a relay, or given up) → `.removed(found)`.
    case removeOutbox(seq: UInt64)
    /// Records a received envelope → `.inbox(.new / .duplicate)`.
    case recordInbox(InboxDraft)
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
        case .removeOutbox, .removeBacklog, .sweepExpired, .markDelivered: true
        case .enqueue, .markAttempt, .recordInbox, .putBacklog: false
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
}

/// What one expiry sweep removed.
public struct SweepReport: Sendable, Hashable {
    /// Outbox entries that expired before a relay confirmed them (the peer may owe the client
    /// an "undeliverable" reply for these).
    public var expiredOutbox: [OutboxEntry] = []
    public var inboxRemoved = 0
    public var backlogRemoved = 0
    /// `true` when the limit stopped the sweep with expired items left: sweep again soon.
    public var more = false

    public var total: Int { expiredOutbox.count + inboxRemoved + backlogRemoved }

    public init() {}
}
