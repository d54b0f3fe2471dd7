import LMDB

/// The named databases of the store environment, opened once at startup (opening takes a write
/// transaction; the handles are plain numbers shared by every thread afterwards).
///
/// Layout (all integers big-endian, so byte order is numeric order):
/// - `outbox`          seq → OutboxEntry
/// - `outbox.due`      nextAttempt ‖ seq → ∅        FIFO by due time, then enqueue order
/// - `outbox.uid`      uid ‖ seq → ∅                 entries of one uid (multi-`dst`)
/// - `outbox.expiry`   deadline ‖ seq → ∅            bounded expiry sweeps
/// - `inbox`           source ‖ uid ‖ kind → InboxRecord
/// - `inbox.pending`   pendingSeq → inbox key        not yet pushed to Redis, in arrival order
/// - `inbox.expiry`    deadline ‖ inbox key → ∅
/// - `backlog`         uid → BacklogEntry
/// - `backlog.expiry`  deadline ‖ uid → ∅
/// - `awaiting`        uid ‖ destination → AwaitingRequest   confirmed requests without a reply yet
/// - `awaiting.due`    nextResend ‖ awaiting key → ∅         periodic re-sends
/// - `awaiting.expiry` deadline ‖ awaiting key → ∅
/// - `meta`            "format" → version byte
struct Databases: Sendable {
    static let outbox = "outbox"
    static let outboxDue = "outbox.due"
    static let outboxUID = "outbox.uid"
    static let outboxExpiry = "outbox.expiry"
    static let inbox = "inbox"
    static let inboxPending = "inbox.pending"
    static let inboxExpiry = "inbox.expiry"
    static let backlog = "backlog"
    static let backlogExpiry = "backlog.expiry"
    static let awaiting = "awaiting"
    static let awaitingDue = "awaiting.due"
    static let awaitingExpiry = "awaiting.expiry"
    static let meta = "meta"
    static let count = 13

    let outbox: LMDBDatabase
    let outboxDue: LMDBDatabase
    let outboxUID: LMDBDatabase
    let outboxExpiry: LMDBDatabase
    let inbox: LMDBDatabase
    let inboxPending: LMDBDatabase
    let inboxExpiry: LMDBDatabase
    let backlog: LMDBDatabase
    let backlogExpiry: LMDBDatabase
    let awaiting: LMDBDatabase
    let awaitingDue: LMDBDatabase
    let awaitingExpiry: LMDBDatabase
    let meta: LMDBDatabase

    init(environment env: LMDBEnvironment) throws {
        outbox = try env.openDatabase(name: Self.outbox)
        outboxDue = try env.openDatabase(name: Self.outboxDue)
        outboxUID = try env.openDatabase(name: Self.outboxUID)
        outboxExpiry = try env.openDatabase(name: Self.outboxExpiry)
        inbox = try env.openDatabase(name: Self.inbox)
        inboxPending = try env.openDatabase(name: Self.inboxPending)
        inboxExpiry = try env.openDatabase(name: Self.inboxExpiry)
        backlog = try env.openDatabase(name: Self.backlog)
        backlogExpiry = try env.openDatabase(name: Self.backlogExpiry)
        awaiting = try env.openDatabase(name: Self.awaiting)
        awaitingDue = try env.openDatabase(name: Self.awaitingDue)
        awaitingExpiry = try env.openDatabase(name: Self.awaitingExpiry)
        meta = try env.openDatabase(name: Self.meta)
    }

    /// Every database with its name, for stats and consistency checks.
    var all: [(name: String, db: LMDBDatabase)] {
        [
            (Self.outbox, outbox), (Self.outboxDue, outboxDue), (Self.outboxUID, outboxUID),
            (Self.outboxExpiry, outboxExpiry), (Self.inbox, inbox), (Self.inboxPending, inboxPending),
            (Self.inboxExpiry, inboxExpiry), (Self.backlog, backlog), (Self.backlogExpiry, backlogExpiry),
            (Self.awaiting, awaiting), (Self.awaitingDue, awaitingDue), (Self.awaitingExpiry, awaitingExpiry),
            (Self.meta, meta),
        ]
    }
}

/// Index key builders shared by the writer, readers and the consistency check.
enum IndexKey {
    static func due(_ time: StoreTime, _ seq: UInt64) -> [UInt8] { time.millis.bigEndianBytes + seq.bigEndianBytes }
    static func outboxUID(_ uid: String, _ seq: UInt64) -> [UInt8] { UIDKey.encode(uid) + seq.bigEndianBytes }
    static func expiry(_ deadline: StoreTime, _ primary: [UInt8]) -> [UInt8] { deadline.millis.bigEndianBytes + primary }
}
