import RMBTestSupport
import Testing
@testable import Store

/// The writer's two time windows, driven by a manual clock: a deferrable write waits for company
/// up to `deferLimit`, and after a commit the writer lingers up to `commitDelay` for as many
/// writes as that commit carried. Each bound is checked to the millisecond on both sides.
@Suite(.timeLimit(.minutes(1))) struct GroupCommitClockTests {
    private func commits(_ store: Store) throws -> Int { try store.stats().commits }

    @Test func aLoneDeferrableWriteGoesOutAtItsDeferLimitAndNotBefore() async throws {
        try await withClockedStore(deferLimit: .milliseconds(20)) { store, clock in
            let before = try commits(store)
            let pending = store.enqueue([.enqueue(draft("deferred"))], deferrable: true)
            // The writer parks on the clock until the write's deadline.
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .milliseconds(19))
            #expect(await clock.waitForSleepers(1))
            #expect(try commits(store) == before, "committed before its defer limit")
            #expect(try store.outbox.count() == 0)
            clock.advance(by: .milliseconds(1))
            guard case .enqueued? = try await pending.results().first else {
                Issue.record("the deferred write must be committed at its limit")
                return
            }
            #expect(try commits(store) == before + 1)
        }
    }

    @Test func aDeferrableWriteRidesWithTheNextUrgentOneWhileTimeStandsStill() async throws {
        try await withClockedStore { store, clock in
            let before = try commits(store)
            let record = inboxDraft("riding")
            let pending = store.enqueue([.recordInbox(record)], deferrable: true)
            #expect(await clock.waitForSleepers(1))
            // The clock never moves: only the urgent write can take the deferred one out.
            _ = try await store.outbox.enqueue(draft("urgent"))
            guard case .inbox(.new)? = try await pending.results().first else {
                Issue.record("the deferred record must be new")
                return
            }
            #expect(try commits(store) == before + 1)
            #expect(try store.inbox.state(record.key) == .pending)
        }
    }

    /// One commit carrying two writes (a deferred one taken out by an urgent one), so that the
    /// writer lingers for two writes after it.
    private func commitPair(_ store: Store, _ clock: ManualClock, _ name: String) async throws {
        // The writer first flushes the last commit's meta page (metaSyncDelay 0). A deferred write
        // arriving before that flush would be committed in its place, alone, at once; the pair
        // must find the writer idle so the deferred write waits for the urgent one.
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { store.committer.isIdle })
        let deferred = store.enqueue([.enqueue(draft("\(name)-deferred"))], deferrable: true)
        #expect(await clock.waitForSleepers(1))
        _ = try await store.outbox.enqueue(draft("\(name)-urgent"))
        _ = try await deferred.results()
    }

    @Test func afterACommitTheWriterLingersForAsManyWritesUpToTheCommitDelay() async throws {
        try await withClockedStore(commitDelay: .milliseconds(5)) { store, clock in
            try await commitPair(store, clock, "first")   // at t = 0
            let afterFirst = try commits(store)

            // One write arrives within the delay: the writer waits for a second one…
            let x = store.enqueue([.enqueue(draft("x"))])
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .milliseconds(4))
            #expect(await clock.waitForSleepers(1))
            #expect(try commits(store) == afterFirst, "the writer did not linger")
            // …which joins it: both share one commit, before the delay is over.
            let y = store.enqueue([.enqueue(draft("y"))])
            _ = try await x.results()
            _ = try await y.results()
            #expect(try commits(store) == afterFirst + 1)

            // Alone, the wait ends at the delay: 5 ms after that commit (t = 4 ms), not 1 ms sooner.
            let z = store.enqueue([.enqueue(draft("z"))])
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .milliseconds(4))
            #expect(await clock.waitForSleepers(1))
            #expect(try commits(store) == afterFirst + 1, "ended the linger 1 ms early")
            clock.advance(by: .milliseconds(1))
            _ = try await z.results()
            #expect(try commits(store) == afterFirst + 2)

            // A write arriving after the delay (sporadic traffic) is never held back: it commits
            // without the clock moving again.
            try await commitPair(store, clock, "second")   // at t = 9 ms
            let afterSecond = try commits(store)
            clock.advance(by: .milliseconds(6))
            _ = try await store.outbox.enqueue(draft("sporadic"))
            #expect(try commits(store) == afterSecond + 1)
            #expect(try store.outbox.count() == 8)
        }
    }

    private func idleFlushes(_ store: Store) throws -> Int { try store.stats().idleFlushes }

    /// The last commit's meta page waits up to `metaSyncDelay` for the next commit to flush it;
    /// only when none comes does the idle writer flush it alone, at the delay and not before.
    @Test func theIdleMetaFlushWaitsForTheNextCommitUpToItsDelay() async throws {
        try await withClockedStore(metaSyncDelay: .milliseconds(10)) { store, clock in
            let before = try idleFlushes(store)
            _ = try await store.outbox.enqueue(draft("first"))        // t = 0
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .milliseconds(5))
            #expect(await clock.waitForSleepers(1))
            #expect(try idleFlushes(store) == before, "flushed alone before its delay")
            // A commit within the delay flushes the first one's meta page with its own data.
            _ = try await store.outbox.enqueue(draft("second"))       // t = 5
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .milliseconds(9))                        // t = 14, 1 ms before 15
            #expect(await clock.waitForSleepers(1))
            #expect(try idleFlushes(store) == before, "flushed alone before its delay")
            clock.advance(by: .milliseconds(1))                        // t = 15
            let deadline = ContinuousClock.now + .seconds(10)
            while try idleFlushes(store) == before, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            // One flush for two commits, none more while nothing is written.
            #expect(try idleFlushes(store) == before + 1)
            #expect(try store.stats().commits >= 2)
            clock.advance(by: .seconds(1))
            try await Task.sleep(for: .milliseconds(50))
            #expect(try idleFlushes(store) == before + 1)
        }
    }

    /// A deferrable write queued while the writer waits to flush the last commit's meta page
    /// does not wake it (the writer wakes at the flush time anyway), and at that time the
    /// write's commit takes the place of the flush: one fsync, not a flush and a commit later.
    @Test func aDeferrableWriteDuringTheMetaFlushWaitNeitherWakesTheWriterNorCostsAFlush() async throws {
        try await withClockedStore(deferLimit: .milliseconds(20), metaSyncDelay: .milliseconds(10)) { store, clock in
            _ = try await store.outbox.enqueue(draft("first"))        // t = 0: the writer waits until t = 10
            #expect(await clock.waitForSleepers(1))
            let (commitsBefore, flushesBefore) = (try commits(store), try idleFlushes(store))
            let wakeupsBefore = try store.stats().writerWakeups
            let record = inboxDraft("riding")
            let pending = store.enqueue([.recordInbox(record)], deferrable: true)
            // A signal would wake the writer within microseconds; give it ample real time.
            try await Task.sleep(for: .milliseconds(200))
            #expect(try store.stats().writerWakeups == wakeupsBefore, "the deferrable write woke the writer")
            #expect(try commits(store) == commitsBefore)
            clock.advance(by: .milliseconds(9))                        // t = 9
            #expect(await clock.waitForSleepers(1))
            #expect(try commits(store) == commitsBefore, "committed before the flush time")
            clock.advance(by: .milliseconds(1))                        // t = 10, not its own limit (20)
            guard case .inbox(.new)? = try await pending.results().first else {
                Issue.record("the deferred record must be committed at the flush time")
                return
            }
            #expect(try commits(store) == commitsBefore + 1)
            #expect(try idleFlushes(store) == flushesBefore, "a lone flush as well as the commit")
            #expect(try store.inbox.state(record.key) == .pending)
        }
    }

    @Test func closeCommitsADeferredWriteWithoutWaitingForItsLimit() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualClock()
        let store = try Store.open(path: directory.path, mapSize: 16 << 20, deferLimit: .seconds(3600), clock: clock)
        let pending = store.enqueue([.enqueue(draft("late"))], deferrable: true)
        #expect(await clock.waitForSleepers(1))
        await store.close()
        guard case .enqueued? = try await pending.results().first else {
            Issue.record("close must commit the deferred write")
            return
        }
        let reopened = try Store.open(path: directory.path, mapSize: 16 << 20)
        #expect(try reopened.outbox.count() == 1)
        await reopened.close()
    }
}
