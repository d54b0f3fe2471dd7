import LMDB

/// Queue depths and sizes for metrics (`/metrics`, `rmb-peer status`).
public struct StoreStats: Sendable, Hashable {
    /// One database with its indexes.
    public struct Queue: Sendable, Hashable {
        public var entries: Int
        /// Bytes of pages used by the database and its indexes.
        public var bytes: Int
        /// The earliest deadline held (nil when empty).
        public var oldestDeadline: StoreTime?
    }

    public var outbox: Queue
    public var inbox: Queue
    /// Inbox envelopes not yet delivered to local Redis.
    public var inboxPending: Int
    public var backlog: Queue
    /// Confirmed requests kept until their reply arrives.
    public var awaiting: Queue
    /// The configured map size (the most the store can hold).
    public var mapSize: Int
    /// High-water mark of the map in use (freed pages are reused before it grows).
    public var mapUsedBytes: Int
    /// Write transactions committed and operations written since open.
    public var commits: Int
    public var operations: Int
    /// Batches that aborted and were retried unit by unit (map full, damaged record).
    public var failedBatches: Int
    /// Commits made durable by an explicit flush of their meta page when the writer went idle
    /// (the others were made durable by the next commit's flush).
    public var idleFlushes: Int
    /// Times the writer thread woke from a wait: each wake-up is a thread switch, which costs
    /// more CPU than many a commit at moderate rates.
    public var writerWakeups: Int
}

extension Store {
    /// Current figures, from one read snapshot.
    public func stats() throws(StoreError) -> StoreStats {
        let dbs = self.dbs
        let writer = committer.statistics
        let info: LMDBInfo
        let pageSize: Int
        do {
            info = try env.info()
            pageSize = try env.stat().pageSize
        } catch {
            throw StoreError.wrap(error, mapSize: 0)
        }
        return try read { txn in
            func queue(_ primary: LMDBDatabase, _ indexes: [LMDBDatabase], expiry: LMDBDatabase) throws -> StoreStats.Queue {
                var bytes = try txn.stat(primary).usedBytes
                for index in indexes { bytes += try txn.stat(index).usedBytes }
                var oldest: StoreTime?
                try txn.forEach(expiry) { key, _ in
                    oldest = UInt64(bigEndianBytes: key).map(StoreTime.init(millis:))
                    return .stop
                }
                return StoreStats.Queue(entries: try txn.count(primary), bytes: bytes, oldestDeadline: oldest)
            }
            return StoreStats(
                outbox: try queue(dbs.outbox, [dbs.outboxDue, dbs.outboxUID, dbs.outboxExpiry], expiry: dbs.outboxExpiry),
                inbox: try queue(dbs.inbox, [dbs.inboxPending, dbs.inboxExpiry], expiry: dbs.inboxExpiry),
                inboxPending: try txn.count(dbs.inboxPending),
                backlog: try queue(dbs.backlog, [dbs.backlogExpiry], expiry: dbs.backlogExpiry),
                awaiting: try queue(dbs.awaiting, [dbs.awaitingDue, dbs.awaitingExpiry], expiry: dbs.awaitingExpiry),
                mapSize: info.mapSize,
                mapUsedBytes: (info.lastPageNumber + 1) * pageSize,
                commits: writer.commits,
                operations: writer.operations,
                failedBatches: writer.failedBatches,
                idleFlushes: writer.idleFlushes,
                writerWakeups: writer.wakeups
            )
        }
    }
}
