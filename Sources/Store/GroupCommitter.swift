import Foundation
import LMDB
import Logging
import Synchronization

/// Group commit: callers queue their operations and await; one dedicated writer thread takes
/// everything queued, applies it in a single LMDB write transaction and commits it with one
/// fsync, then resumes every caller. Throughput therefore scales with the number of concurrent
/// writers instead of paying one fsync per envelope.
///
/// One flush per commit, not two: the environment is opened with `MDB_NOMETASYNC`, so a commit
/// flushes its data pages and writes (without flushing) the meta page that makes it current. That
/// meta page is flushed by the next commit's flush, or, when no commit came within `metaSyncDelay`
/// and the writer has nothing urgent to do, by an explicit `mdb_env_sync`: callers are resumed one
/// flush earlier, and a commit is durable against power loss at most `metaSyncDelay` plus one
/// flush after its caller resumed (against a process crash at once: the page cache holds it).
/// LMDB's integrity never depends on it. The delay matters under steady moderate traffic: with
/// commits a few milliseconds apart, an immediate idle flush doubled the fsyncs (and the writer's
/// wake-ups), each one costing CPU in the block layer and delaying the next commit behind it.
///
/// Why a `Thread` and not an actor or the cooperative pool: LMDB's write transaction must begin
/// and end on the same OS thread and blocks it during fsync; a dedicated thread keeps both
/// rules without starving Swift concurrency's few pool threads.
///
/// Deferrable units (`submit(_:deferrable:)`) do not wake the writer: they ride along with the
/// next transaction anyone asks for, take the place of the idle flush of the last commit's meta
/// page (their commit flushes it), or go out alone once they waited `deferLimit`. The writer is
/// signalled for one only when it would otherwise sleep past the unit's deadline. They are for
/// writes whose loss in a crash something else makes good (a duplicate dropped elsewhere, a
/// re-send), never the only copy of a message, and they keep their place in the queue, so they
/// are applied before any unit submitted after them.
///
/// A store without fsync (`durable: false`) has no flush to share, so a waited-for unit that
/// finds the writer asleep is committed on the caller's own thread (with any deferred units
/// queued before it, in order) instead of handing it to the writer and waiting to be handed
/// back: two thread switches less per write, which at moderate rates cost more than the
/// commit. A transaction without fsync takes microseconds, so the caller's thread is not held
/// long. Whoever writes — the writer thread or such a caller — holds `writeLock`.
///
/// A unit may ask to hear when it is applied (its results known, the transaction about to
/// commit) as well as when it is durable: a caller can then act on the results (e.g. send what
/// it wrote) while the fsync runs, when a crash in that window costs nothing that the caller's
/// protocol does not make good anyway.
///
/// Failure isolation: when a batch fails (map full, damaged record), its transaction aborts and
/// every unit is retried alone, units that only delete first (they make room), so one unit's
/// error never fails another caller's write.
final class GroupCommitter: @unchecked Sendable {
    /// One caller's atomic list of operations.
    private struct Unit: Sendable {
        let operations: [StoreOperation]
        /// Called once with the unit's results or its error: through ``CompletionRelay`` after a
        /// commit of the writer, on the caller's own thread after an inline commit.
        let complete: @Sendable (Result<[StoreOperationResult], any Error>) -> Void
        /// Called once every operation of the unit is applied, before the transaction commits
        /// (see ``GroupCommitter/enqueue(_:deferrable:applied:complete:)``).
        let applied: (@Sendable ([StoreOperationResult]) -> Void)?
        /// When a deferrable unit must be committed at the latest (``WriterClock/elapsed()``); nil
        /// for a unit that is waited for.
        var deadline: Duration?
        var freesSpace: Bool { operations.allSatisfy(\.freesSpace) }
    }

    /// Counters for stats and the bench.
    struct Counters: Sendable {
        var commits = 0
        var operations = 0
        var failedBatches = 0
        var idleFlushes = 0
        /// Times the writer thread woke from a wait (signalled, or its deadline came).
        var wakeups = 0
    }

    /// How the writer thread waits, so that `enqueue` wakes it only when a unit needs it sooner.
    private enum Rest {
        /// Awake: it looks at the queue before it sleeps again.
        case working
        /// Until signalled.
        case asleep
        /// Until this time at the latest (``WriterClock/elapsed()``).
        case asleepUntil(Duration)
        /// In the linger window after a commit, about to commit what is queued: woken by any write.
        case lingering
    }

    /// Units per transaction: bounds the transaction's dirty pages and the latency of its commit.
    static let maxUnitsPerBatch = 2048

    private let env: LMDBEnvironment
    private let logger: Logger
    /// Touched only under `writeLock`.
    private let state: WriterState
    /// The writer's outbox numbers, also reserved ahead by callers (thread-safe on its own).
    let outboxSequence: OutboxSequence
    /// Held by whoever runs a write transaction: the writer thread, or a caller committing its
    /// own unit (a store without fsync). Taken after `condition`, never the other way round.
    private let writeLock = NSLock()
    /// Opened with fsync: commits share flushes (and owe the meta-page flush). Without it,
    /// waited-for units may be committed on the caller's thread (no fsync to share).
    private let durable: Bool

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Unit] = []
    /// Units in `queue` that wake the writer (not deferrable).
    private var urgent = 0
    private var rest = Rest.working
    /// A caller is committing on its own thread (see the type's comment).
    private var inlineCommit = false
    private var closing = false
    private var finished = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    /// Where the writer thread hands its commits' outcomes (see ``CompletionRelay``).
    private let completions = CompletionRelay()
    /// Guarded by `counterLock` (a leaf lock: taken under the others, never the reverse).
    private var counters = Counters()
    private let counterLock = NSLock()

    /// Longest wait, after a commit, for its callers' next writes (see `runLoop`).
    private let lingerLimit: Duration

    /// Longest wait of a deferrable unit for a transaction to join.
    private let deferLimit: Duration

    /// How long the last commit's meta page may wait for the next commit's flush before the idle
    /// writer flushes it alone.
    private let metaSyncDelay: Duration

    /// The wall clock commits stamp with (``Store/now``).
    private let now: @Sendable () -> StoreTime

    /// The monotonic clock the deferral and linger windows run on.
    private let clock: any WriterClock

    /// Whether the map's high-water mark was below half the map at the last commit (see
    /// ``hasAmpleRoom``); false once a write was refused for space, until a commit finds room.
    private let roomy = Atomic<Bool>(true)
    private let pageSize: Int

    init(env: LMDBEnvironment, state: WriterState, lingerLimit: Duration, deferLimit: Duration = .milliseconds(20),
         metaSyncDelay: Duration = .zero, now: @escaping @Sendable () -> StoreTime = { .now },
         clock: any WriterClock = SystemWriterClock(), logger: Logger) {
        self.env = env
        durable = env.flags & LMDBEnvironment.Flags.noSync.rawValue == 0
        self.metaSyncDelay = metaSyncDelay
        self.now = now
        self.clock = clock
        self.state = state
        outboxSequence = state.outboxSequence
        self.lingerLimit = lingerLimit
        self.deferLimit = deferLimit
        self.logger = logger
        pageSize = (try? env.stat().pageSize) ?? 4096
        noteRoom()
    }

    /// The map's high-water mark is below half its size: a usual batch will not be refused for
    /// space, so a caller may act on its write before it is applied (see
    /// ``Store/reserveOutboxSeqs(_:)``). Conservative: freed pages below the mark are reused, but
    /// the mark never goes down.
    var hasAmpleRoom: Bool { roomy.load(ordering: .relaxed) }

    private func noteRoom() {
        guard let info = try? env.info() else { return }
        roomy.store((info.lastPageNumber + 1) * pageSize <= info.mapSize / 2, ordering: .relaxed)
    }

    /// Starts the writer thread (once).
    func start() {
        let thread = Thread { [self] in
            // Named from inside: on Linux, a name given before the start is not applied (the
            // thread showed under its creator's in top, perf and gdb), and the kernel keeps at
            // most 15 bytes of one.
            Thread.current.name = "rmb.storewriter"
            self.runLoop()
        }
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    /// Queues `operations` as one atomic unit and waits until it is committed (durable) or failed.
    /// A caller cancelled while waiting still gets its write committed: once queued it is owed.
    /// With `deferrable`, the unit waits up to `deferLimit` for another transaction to share.
    func submit(_ operations: [StoreOperation], deferrable: Bool = false) async throws -> [StoreOperationResult] {
        if operations.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            enqueue(operations, deferrable: deferrable) { continuation.resume(with: $0) }
        }
    }

    /// Queues `operations` now and returns at once; `complete` runs once they are committed or
    /// failed, in commit order, off the writer thread (``CompletionRelay``). The unit's place in
    /// the queue is taken before this returns. `applied`, if given, runs on the thread that runs
    /// the transaction (the writer's, or the caller's for a store without fsync; keep it short:
    /// the transaction waits for it) once the unit's operations are all applied and before its
    /// transaction commits, with
    /// the results `complete` gets on success; at most once, and `complete` still follows. A
    /// commit that fails after that (an I/O error) fails the unit: nothing of it is stored.
    func enqueue(_ operations: [StoreOperation], deferrable: Bool,
                 applied: (@Sendable ([StoreOperationResult]) -> Void)? = nil,
                 complete: @escaping @Sendable (Result<[StoreOperationResult], any Error>) -> Void) {
        if operations.isEmpty {
            applied?([])
            return complete(.success([]))
        }
        condition.lock()
        guard !closing else {
            condition.unlock()
            complete(.failure(StoreError.closed))
            return
        }
        let deadline = deferrable ? clock.elapsed() + deferLimit : nil
        let unit = Unit(operations: operations, complete: complete, applied: applied, deadline: deadline)
        if !deferrable && !durable && !inlineCommit && writerSleepsIdle {
            return commitInline(unit)
        }
        queue.append(unit)
        if !deferrable {
            urgent += 1
            condition.signal()
        } else if let deadline, wakesLater(than: deadline) {
            // The writer sleeps without a deadline, or with a later one: give it this one.
            // Otherwise it wakes in time anyway (usually to flush the last commit's meta page,
            // which this unit's commit then does): no wake-up per deferred write.
            condition.signal()
        }
        condition.unlock()
    }

    /// Whether the writer sleeps past `deadline` unless signalled (`condition` held).
    private func wakesLater(than deadline: Duration) -> Bool {
        switch rest {
        case .working: false
        case .asleep, .lingering: true
        case .asleepUntil(let wake): wake > deadline
        }
    }

    /// Whether the writer sleeps with nothing to commit soon: nothing queued but deferred units
    /// (`condition` held). Lingering or working, it is about to commit the queue itself.
    private var writerSleepsIdle: Bool {
        switch rest {
        case .asleep, .asleepUntil: urgent == 0
        case .working, .lingering: false
        }
    }

    /// Commits the queued (deferred) units and `unit` on the caller's thread (`condition` held
    /// on entry, released on return). Units queued meanwhile wait for the writer, which
    /// takes `writeLock` after this transaction.
    private func commitInline(_ unit: Unit) {
        let batch = queue + [unit]
        queue.removeAll(keepingCapacity: true)
        inlineCommit = true
        writeLock.lock()
        condition.unlock()
        let outcomes = process(batch)
        writeLock.unlock()
        condition.lock()
        inlineCommit = false
        // Only a closing writer waits for this commit; a sleeping one is not to be woken.
        if closing { condition.broadcast() }
        condition.unlock()
        for (unit, result) in outcomes { unit.complete(result) }
    }

    /// Sleeps on `condition` (held) until signalled or `deadline`, telling `enqueue` how.
    private func sleep(until deadline: Duration?, wokenByAnyWrite: Bool = false) {
        rest = wokenByAnyWrite ? .lingering : deadline.map { .asleepUntil($0) } ?? .asleep
        if let deadline {
            clock.wait(on: condition, untilElapsed: deadline)
        } else {
            condition.wait()
        }
        rest = .working
        record { $0.wakeups += 1 }
    }

    /// Nothing queued and the writer asleep with nothing pending (the last commit flushed):
    /// for tests that must know a write arrives at an idle writer.
    var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard queue.isEmpty, case .asleep = rest else { return false }
        return true
    }

    var statistics: Counters {
        counterLock.lock()
        defer { counterLock.unlock() }
        return counters
    }

    /// Stops accepting writes, commits what is already queued, and returns when the writer
    /// thread has finished (after that no transaction of ours is active).
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if finished {
                condition.unlock()
                continuation.resume()
                return
            }
            closing = true
            closeWaiters.append(continuation)
            condition.signal()
            condition.unlock()
        }
    }

    /// Asks the writer to stop without waiting (used from `deinit`).
    func requestStop() {
        condition.lock()
        closing = true
        condition.signal()
        condition.unlock()
    }

    // MARK: Writer thread

    private func runLoop() {
        var expected = 0
        var lastCommitEnd = clock.elapsed()
        // A commit whose meta page is written but not flushed yet (see `Store.open`).
        var metaPending = false
        while true {
            condition.lock()
            // Sleep while nothing is queued, or only deferrable units whose deadline is ahead.
            while !closing {
                let idle = queue.isEmpty
                let deferred = !idle && urgent == 0 && (queue.first?.deadline.map { $0 > clock.elapsed() } ?? false)
                guard idle || deferred else { break }
                if metaPending {
                    // Nothing urgent to commit: once `metaSyncDelay` has passed without a commit
                    // to carry it, make the last commit durable with a flush of its own.
                    let flushAt = lastCommitEnd + metaSyncDelay
                    if clock.elapsed() < flushAt {
                        // Or until a deferred unit's deadline, if earlier.
                        sleep(until: min(flushAt, queue.first?.deadline ?? flushAt))
                        continue
                    }
                    // Deferred units waiting: their commit flushes the meta page too, one flush
                    // instead of two.
                    if !idle { break }
                    condition.unlock()
                    flushMeta()
                    metaPending = false
                    condition.lock()
                    continue
                }
                if idle {
                    sleep(until: nil)
                } else if let deadline = queue.first?.deadline {
                    sleep(until: deadline)
                }
            }
            // Callers just resumed by the last commit are usually about to write again: give
            // them up to `lingerLimit` after that commit to join this batch, so they share its
            // fsync instead of each waiting for a commit already in flight plus their own.
            // Writes arriving later than that (sporadic traffic) are never delayed.
            let lingerEnd = lastCommitEnd + lingerLimit
            while queue.count < expected && !closing && clock.elapsed() < lingerEnd {
                sleep(until: lingerEnd, wokenByAnyWrite: true)
            }
            if queue.isEmpty {
                // Closing: a caller still committing on its own thread finishes first.
                while inlineCommit { condition.wait() }
                if metaPending {
                    condition.unlock()
                    flushMeta()
                    condition.lock()
                }
                finished = true
                let waiters = closeWaiters
                closeWaiters = []
                condition.unlock()
                // After every caller heard its outcome.
                completions.post { for waiter in waiters { waiter.resume() } }
                return
            }
            let take = min(queue.count, Self.maxUnitsPerBatch)
            let batch = Array(queue.prefix(take))
            queue.removeFirst(take)
            urgent -= batch.reduce(0) { $0 + ($1.deadline == nil ? 1 : 0) }
            condition.unlock()
            writeLock.lock()
            let outcomes = process(batch)
            writeLock.unlock()
            // A store opened without fsync has nothing to flush.
            metaPending = durable
            expected = batch.count
            // The linger window starts when the commit ended, before its callers are resumed:
            // set after resuming them, it would start late by however long they took to write
            // again (and a test moving a manual clock meanwhile would see a window it never set).
            lastCommitEnd = clock.elapsed()
            completions.post { for (unit, result) in outcomes { unit.complete(result) } }
        }
    }

    /// Flushes the meta page of the last commit (the data pages were flushed by the commit).
    private func flushMeta() {
        do {
            try env.sync(force: true)
            record { $0.idleFlushes += 1 }
        } catch {
            logger.error("store: flushing the last commit failed: \(error)")
        }
    }

    /// Commits `batch` (each unit alone after a failed batch) and returns each unit's outcome,
    /// for the caller to complete.
    private func process(_ batch: [Unit]) -> [(Unit, Result<[StoreOperationResult], any Error>)] {
        do {
            let results = try commit(batch)
            return zip(batch, results).map { ($0, .success($1)) }
        } catch let failure as CommitFailedAfterApply {
            // Every operation applied, the commit itself failed (an I/O error): the units were
            // told their results, which a retry could not keep. Each fails with the error.
            record { $0.failedBatches += 1 }
            let error = mapped(failure.error)
            return batch.map { ($0, .failure(error)) }
        } catch {
            record { $0.failedBatches += 1 }
            if batch.count == 1, let unit = batch.first {
                return [(unit, .failure(mapped(error)))]
            }
            logger.debug("store batch of \(batch.count) units failed (\(error)); retrying each unit alone")
        }
        // Deleting units first: on a full map they free the pages the others need.
        return (batch.filter(\.freesSpace) + batch.filter({ !$0.freesSpace })).map { unit in
            do {
                return (unit, .success(try commit([unit]).first ?? []))
            } catch {
                return (unit, .failure(mapped(error)))
            }
        }
    }

    /// A transaction whose operations were all applied (and `applied` hooks told) failed to commit.
    private struct CommitFailedAfterApply: Error {
        let error: any Error
    }

    /// One transaction for `units`; results per unit. Counters roll back if it aborts.
    private func commit(_ units: [Unit]) throws -> [[StoreOperationResult]] {
        let now = self.now()
        let operationCount = units.reduce(0) { $0 + $1.operations.count }
        var toldApplied = false
        do {
            let results = try env.write { txn in
                let results = try units.map { unit in try unit.operations.map { try state.apply($0, txn, now: now) } }
                try state.persistCounters(txn)
                toldApplied = true
                for (unit, unitResults) in zip(units, results) { unit.applied?(unitResults) }
                return results
            }
            state.committed()
            noteRoom()
            record {
                $0.commits += 1
                $0.operations += operationCount
            }
            return results
        } catch {
            state.rolledBack()
            throw toldApplied ? CommitFailedAfterApply(error: error) : error
        }
    }

    private func record(_ change: (inout Counters) -> Void) {
        counterLock.lock()
        change(&counters)
        counterLock.unlock()
    }

    private func mapped(_ error: any Error) -> StoreError {
        let mapSize = (try? env.info().mapSize) ?? 0
        let storeError = StoreError.wrap(error, mapSize: mapSize)
        if case .full = storeError {
            roomy.store(false, ordering: .relaxed)
            logger.warning("store map is full (\(mapSize) bytes): write refused")
        } else {
            logger.error("store write failed: \(storeError)")
        }
        return storeError
    }
}
