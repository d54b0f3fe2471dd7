import LMDB
import Logging

/// The peer's crash-safe message store: one LMDB environment holding the outbox (envelopes to
/// send until a relay confirmed them), the inbox (received envelopes until pushed to Redis, then
/// their keys until the deadline, for de-duplication, with the replies sent to them), the backlog
/// (where replies go) and the awaiting requests (confirmed, kept for a re-send until answered).
///
/// Durability: a write is reported done only after its transaction was committed with its data
/// pages flushed (`fdatasync`), so it survives kill -9; the meta page that makes it current is
/// flushed by the next commit or, when none comes within `metaSyncDelay` (10 ms), by the idle
/// writer, so it survives power loss at most that much plus one flush later (`MDB_NOMETASYNC`;
/// LMDB's integrity never depends on it). Writes
/// from all callers are grouped into shared transactions by one writer thread (`GroupCommitter`).
/// Reads run on the caller's thread in their own snapshot and never block the writer.
///
/// Open one `Store` per path per process (LMDB's rule); share it freely, it is `Sendable`.
public final class Store: Sendable {
    public let path: String
    let env: LMDBEnvironment
    let dbs: Databases
    let committer: GroupCommitter
    let logger: Logger
    /// The store's wall clock: what commits stamp (confirmations, attempts) and what the peer's
    /// postman and resender compare deadlines with. Injected in tests, `StoreTime.now` otherwise.
    public let now: @Sendable () -> StoreTime

    /// The on-disk format this code writes; a store written by a newer format is refused.
    static let formatVersion: UInt8 = 1
    static let formatKey = Array("format".utf8)

    private init(path: String, env: LMDBEnvironment, dbs: Databases, committer: GroupCommitter, now: @escaping @Sendable () -> StoreTime,
                 logger: Logger) {
        self.path = path
        self.now = now
        self.env = env
        self.dbs = dbs
        self.committer = committer
        self.logger = logger
    }

    deinit { committer.requestStop() }

    /// Opens (creating if needed) the store in directory `path`.
    ///
    /// - Parameters:
    ///   - mapSize: the most bytes the store may hold; beyond it writes fail with
    ///     `StoreError.full`. An existing larger map is kept.
    ///   - maxReaders: concurrent read snapshots (each read call holds one briefly).
    ///   - commitDelay: how long the writer may wait after a commit for the callers it just
    ///     resumed to queue their next write, so they share one fsync (0 disables it). Only
    ///     writes arriving right after a commit can be delayed, by at most this much.
    ///   - deferLimit: how long a deferrable write waits for another transaction to join before
    ///     it is committed alone (see ``commit(_:deferrable:)``).
    ///   - metaSyncDelay: how long the last commit's meta page waits for the next commit to flush
    ///     it before the idle writer flushes it alone: the longest a durable store's commit stays
    ///     exposed to power loss (not to a crash) after it was reported, plus one flush. Zero
    ///     flushes as soon as the writer is idle, doubling the flushes of steady traffic.
    ///   - durable: false opens the store without fsync: a commit survives a crash of the
    ///     process but not of the machine. For a store whose only job is de-duplication and
    ///     retries within one run (a direct peer without a persistent store).
    ///   - now: the wall clock commits stamp with (``now``); tests pass a manual one.
    ///   - clock: the monotonic clock `commitDelay`, `deferLimit` and `metaSyncDelay` run on; tests pass a manual one.
    public static func open(
        path: String,
        mapSize: Int = 1 << 30,
        durable: Bool = true,
        maxReaders: Int = 126,
        commitDelay: Duration = .zero,
        deferLimit: Duration = .milliseconds(20),
        metaSyncDelay: Duration = .milliseconds(10),
        now: @escaping @Sendable () -> StoreTime = { .now },
        clock: any WriterClock = SystemWriterClock(),
        logger: Logger = Logger(label: "rmb.store")
    ) throws -> Store {
        let env: LMDBEnvironment
        do {
            // `noMetaSync`: one flush per commit; the next commit or the idle writer flushes the last meta page (GroupCommitter).
            env = try LMDBEnvironment.open(path: path, mapSize: mapSize, maxDatabases: Databases.count, maxReaders: maxReaders,
                                           flags: durable ? [.noMetaSync] : [.noSync])
        } catch {
            throw StoreError.cannotOpen(path: path, reason: String(describing: error))
        }
        do {
            if env.staleReadersCleared > 0 {
                logger.info("store: cleared \(env.staleReadersCleared) reader slots of dead processes")
            }
            let dbs = try Databases(environment: env)
            try checkFormat(env, dbs, path: path)
            let state = try WriterState(dbs: dbs, env: env)
            let committer = GroupCommitter(env: env, state: state, lingerLimit: commitDelay, deferLimit: deferLimit,
                                           metaSyncDelay: metaSyncDelay, now: now, clock: clock, logger: logger)
            committer.start()
            return Store(path: path, env: env, dbs: dbs, committer: committer, now: now, logger: logger)
        } catch {
            env.close()
            if let error = error as? StoreError { throw error }
            throw StoreError.cannotOpen(path: path, reason: String(describing: error))
        }
    }

    private static func checkFormat(_ env: LMDBEnvironment, _ dbs: Databases, path: String) throws {
        let stored = try env.read { txn in try txn.get(dbs.meta, formatKey) }
        switch stored {
        case nil:
            try env.write { txn in try txn.put(dbs.meta, formatKey, [formatVersion]) }
        case [formatVersion]?:
            break
        case let other?:
            throw StoreError.cannotOpen(path: path, reason: "unsupported store format \(other)")
        }
    }

    /// Applies `operations` atomically (all or none) and returns one result per operation once
    /// they are durable. Concurrent calls share transactions (group commit).
    ///
    /// With `deferrable`, the write does not start a transaction of its own: it joins the next
    /// one another caller asks for, or goes out alone after `deferLimit` (20 ms unless the store
    /// was opened with another). Only for writes whose loss in a crash something else makes
    /// good: bookkeeping that costs a duplicate (a confirmation, a delivery mark), or the record
    /// of a received envelope already handed to an idempotent push (the sender re-sends what was
    /// lost). Never for the only copy of what a client handed over. It is still applied before
    /// any write submitted after it.
    public func commit(_ operations: [StoreOperation], deferrable: Bool = false) async throws(StoreError) -> [StoreOperationResult] {
        do {
            return try await committer.submit(operations, deferrable: deferrable)
        } catch {
            throw StoreError.converting(error)
        }
    }

    /// Queues a write like ``commit(_:deferrable:)`` and returns at once: the write is in the
    /// queue when this returns, so it is applied before anything submitted later; await
    /// ``PendingCommit/results()`` when its outcome is needed.
    ///
    /// `applied`, if given, runs on the thread that writes (the store's writer; the caller's own
    /// for a store without fsync) once every operation is applied,
    /// with the results, while the transaction is still to commit (its fsync still to come):
    /// keep it short, and act there only on what a crash before the commit may undo — e.g.
    /// send an outbox entry whose loss the protocol makes good (the sender re-sends a request
    /// it has no record of; a receiver drops a second copy). It runs at most once; when the
    /// commit then fails (an I/O error), ``PendingCommit/results()`` throws and nothing of the
    /// write is stored. Map-full and record errors come before it: it does not run then.
    public func enqueue(_ operations: [StoreOperation], deferrable: Bool = false,
                        applied: (@Sendable ([StoreOperationResult]) -> Void)? = nil) -> PendingCommit {
        let pending = PendingCommit()
        committer.enqueue(operations, deferrable: deferrable, applied: applied) { result in
            pending.complete(result.mapError(StoreError.converting))
        }
        return pending
    }

    /// Reserves `count` consecutive outbox sequence numbers and returns the first: `.enqueue`
    /// operations whose drafts carry them (``OutboxDraft/reservedSeq``) store their entries
    /// under those numbers, so the caller knows each entry (and may hand it to a sender) before
    /// the write is applied. Numbers reserved and never written are skipped (after a restart
    /// they may come again: nothing holds them).
    ///
    /// Acting on an entry before its write is applied is safe only where losing that write is
    /// made good by the protocol (see ``enqueue(_:deferrable:applied:)``), and where the write
    /// will not be refused: ask ``hasAmpleRoom`` first.
    public func reserveOutboxSeqs(_ count: Int) -> UInt64 {
        committer.outboxSequence.take(count)
    }

    /// Whether the map is less than half used (its high-water mark, read after each commit;
    /// false after a write was refused for space, until a commit finds room again): a usual
    /// batch will not be refused for space.
    public var hasAmpleRoom: Bool { committer.hasAmpleRoom }

    /// Queues a deferrable write (see ``commit(_:deferrable:)``) and returns at once; `completion`
    /// runs when it is durable or failed, in commit order, as part of one job that tells every
    /// caller of the commit (keep it short). The write
    /// is in the queue when this returns, so it is applied before anything submitted later.
    public func commitInBackground(_ operations: [StoreOperation],
                                   completion: @escaping @Sendable (Result<[StoreOperationResult], StoreError>) -> Void) {
        committer.enqueue(operations, deferrable: true) { result in
            completion(result.mapError(StoreError.converting))
        }
    }

    /// Runs one operation; `extract` picks its expected result.
    func commitOne<T>(_ operation: StoreOperation, _ extract: (StoreOperationResult) -> T?) async throws(StoreError) -> T {
        let results = try await commit([operation])
        guard let first = results.first, let value = extract(first) else {
            throw StoreError.storage("unexpected result for \(operation)")
        }
        return value
    }

    /// Removes up to `limit` expired items (outbox entries, inbox keys, backlog entries,
    /// awaiting requests).
    /// Call it periodically; `report.more` says another sweep is due right away.
    public func sweepExpired(now: StoreTime = .now, limit: Int = 1000) async throws(StoreError) -> SweepReport {
        try await commitOne(.sweepExpired(now: now, limit: limit)) {
            if case let .swept(report) = $0 { report } else { nil }
        }
    }

    /// Commits what is queued, stops the writer and closes the environment. Later writes throw
    /// `.closed`.
    public func close() async {
        await committer.close()
        env.close()
    }

    public var outbox: Outbox { Outbox(store: self) }
    public var inbox: Inbox { Inbox(store: self) }
    public var backlog: Backlog { Backlog(store: self) }
    public var awaiting: Awaiting { Awaiting(store: self) }

    /// Runs `body` in a read snapshot, mapping errors to `StoreError`.
    func read<T>(_ body: (LMDBTransaction) throws -> T) throws(StoreError) -> T {
        do {
            return try env.read(body)
        } catch {
            throw StoreError.wrap(error, mapSize: 0)
        }
    }
}
