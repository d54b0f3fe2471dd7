import LMDB
import Testing
@testable import Store

@Suite struct GroupCommitTests {
    @Test func concurrentWritersShareTransactionsAndAllLand() async throws {
        try await withStore { store, directory in
            let before = try store.stats()
            let perProducer = 200
            let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for producer in 0..<16 {
                    group.addTask {
                        var seqs: [UInt64] = []
                        for index in 0..<perProducer {
                            seqs.append(try await store.outbox.enqueue(draft("p\(producer)-\(index)", to: UInt32(producer))))
                        }
                        return seqs
                    }
                }
                var all: [UInt64] = []
                for try await seqs in group { all += seqs }
                return all
            }
            #expect(seqs.count == 16 * perProducer)
            #expect(Set(seqs).count == seqs.count)
            let after = try store.stats()
            let commits = after.commits - before.commits
            #expect(after.operations - before.operations == seqs.count)
            // Group commit: far fewer transactions than writes.
            #expect(commits < seqs.count / 2, "commits \(commits) for \(seqs.count) writes")
            #expect(try store.outbox.count() == seqs.count)
            // Each producer's own entries are due in the order it wrote them.
            let due = try store.outbox.due(now: at(1), limit: seqs.count)
            let producerThree = due.filter { $0.destination == 3 }.map(\.uid)
            #expect(producerThree == (0..<perProducer).map { "p3-\($0)" })
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    /// Under load with a commit delay, nothing is lost; the delay's windows themselves are
    /// checked to the millisecond on a manual clock in GroupCommitClockTests.
    @Test func commitDelayGathersWritesAndNeverLosesOne() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path, mapSize: 64 << 20, commitDelay: .microseconds(500))
        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for producer in 0..<8 {
                group.addTask {
                    var seqs: [UInt64] = []
                    for index in 0..<50 { seqs.append(try await store.outbox.enqueue(draft("d\(producer)-\(index)"))) }
                    return seqs
                }
            }
            var all: [UInt64] = []
            for try await seqs in group { all += seqs }
            return all
        }
        #expect(Set(seqs).count == 400)
        #expect(try store.outbox.count() == 400)
        await store.close()
    }

    @Test func acknowledgedWritesAreFsynced() async throws {
        try await withStore { store, _ in
            // Data pages are flushed by every commit; only the meta page's flush is deferred
            // (to the next commit or the writer's next idle moment, see the test below).
            let relaxed = LMDBEnvironment.Flags.noSync.rawValue | LMDBEnvironment.Flags.mapAsync.rawValue
            #expect(store.env.flags & relaxed == 0)
            #expect(store.env.flags & LMDBEnvironment.Flags.noMetaSync.rawValue != 0)
        }
    }

    @Test func aUnitIsAtomicAndResultsComeInOrder() async throws {
        try await withStore { store, _ in
            let results = try await store.commit([
                .putBacklog(BacklogEntry(uid: "req", reference: "r", replyTo: "ret", destinations: [1, 2], deadline: at(60))),
                .enqueue(draft("req", to: 1)),
                .enqueue(draft("req", to: 2)),
                .recordInbox(inboxDraft("in")),
                .recordInbox(inboxDraft("in")),
                .removeOutbox(seq: 424242),
            ])
            #expect(results.count == 6)
            #expect(results[0] == .stored)
            guard case let .enqueued(first) = results[1], case let .enqueued(second) = results[2] else {
                Issue.record("enqueue results expected: \(results)")
                return
            }
            #expect(second == first + 1)
            guard case .inbox(.new) = results[3] else {
                Issue.record("first record is new: \(results[3])")
                return
            }
            #expect(results[4] == .inbox(.duplicate(delivered: false)))
            #expect(results[5] == .removed(found: false))
        }
    }

    @Test func anEnqueuedWriteHoldsItsPlaceAndIsAwaitedLater() async throws {
        try await withStore { store, _ in
            let first = inboxDraft("early")
            let pending = store.enqueue([.recordInbox(first)])
            // Two waiters at once both get the outcome.
            async let otherWaiter = pending.results()
            // Submitted after the enqueue returned: applied after it, even as a deferrable unit.
            let marked = try await store.commit([.markDelivered(first.key)], deferrable: true)
            #expect(marked == [.updated(found: true)])
            guard case .inbox(.new)? = try await otherWaiter.first else {
                Issue.record("a concurrent waiter must see the outcome")
                return
            }
            guard case .inbox(.new)? = try await pending.results().first else {
                Issue.record("the enqueued record must be new")
                return
            }
            // Awaiting again after completion returns the same outcome at once.
            guard case .inbox(.new)? = try await pending.results().first else {
                Issue.record("a second wait must see the same outcome")
                return
            }
            #expect(try store.inbox.state(first.key) == .delivered)
            let again = store.enqueue([.recordInbox(first)])
            #expect(try await again.results() == [.inbox(.duplicate(delivered: true))])
        }
    }

    @Test func anEnqueuedWriteOnAClosedStoreFailsWhenAwaited() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path, mapSize: 16 << 20)
        await store.close()
        let pending = store.enqueue([.recordInbox(inboxDraft("late"))])
        await #expect(throws: StoreError.closed) { try await pending.results() }
    }

    @Test func closedStoreRefusesWrites() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path, mapSize: 16 << 20)
        _ = try await store.outbox.enqueue(draft("a"))
        await store.close()
        await #expect(throws: StoreError.closed) { try await store.outbox.enqueue(draft("b")) }
        let reopened = try Store.open(path: directory.path, mapSize: 16 << 20)
        #expect(try reopened.outbox.count() == 1)
        await reopened.close()
    }

    @Test func damagedRecordFailsOnlyItsOwnWrite() async throws {
        try await withStore { store, _ in
            let seq = try await store.outbox.enqueue(draft("victim"))
            let other = try await store.outbox.enqueue(draft("fine"))
            // Damage the record on disk (as a bug or bad sector would).
            try store.env.write { txn in try txn.put(store.dbs.outbox, seq.bigEndianBytes, [1, 2, 3]) }
            let damaged = Task { try await store.outbox.markAttempt(seq: seq, relay: nil, nextAttempt: at(5)) }
            let healthy = Task { try await store.outbox.markAttempt(seq: other, relay: "r", nextAttempt: at(5)) }
            await #expect(throws: StoreError.self) { try await damaged.value }
            #expect(try await healthy.value)
            #expect(try store.outbox.entry(seq: other)?.lastRelay == "r")
            #expect(try store.verifyConsistency().isConsistent == false)
            // The sweep still clears it at its deadline.
            let report = try await store.sweepExpired(now: at(300), limit: 10)
            #expect(report.expiredOutbox.map(\.seq) == [other])
            #expect(try store.outbox.count() == 0)
        }
    }

    /// Commits flush their data pages; the meta page of the last one is flushed by the idle
    /// writer once no commit came within the meta-sync delay (MDB_NOMETASYNC + idle flush), so
    /// an acknowledged write does not wait for a second flush, yet does not stay unflushed until
    /// some later commit.
    @Test func lastCommitIsFlushedOnceTheWriterIsIdle() async throws {
        try await withStore { store, _ in
            let before = try store.stats()
            _ = try await store.outbox.enqueue(draft("alone"))
            let deadline = ContinuousClock.now + .seconds(2)
            var flushes = 0
            while ContinuousClock.now < deadline {
                flushes = try store.stats().idleFlushes - before.idleFlushes
                if flushes >= 1 { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(flushes == 1, "one idle flush after one commit, got \(flushes)")
            // Nothing else to write: no more flushes.
            try await Task.sleep(for: .milliseconds(100))
            #expect(try store.stats().idleFlushes - before.idleFlushes == 1)
        }
    }

    @Test func closeFlushesTheLastCommit() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path, mapSize: 16 << 20)
        // A deferrable write waits up to 20 ms for company; close commits and flushes it.
        store.commitInBackground([.enqueue(draft("late"))]) { _ in }
        await store.close()
        let reopened = try Store.open(path: directory.path, mapSize: 16 << 20)
        #expect(try reopened.outbox.count() == 1)
        await reopened.close()
    }
}
