import RMBTestSupport
import Testing
@testable import Store

/// A store without fsync commits a waited-for write on the caller's own thread when its writer
/// sleeps idle (GroupCommitter): no hand-over to the writer thread and back. Deferred writes
/// queued before it ride along, in order; durable stores keep handing writes to the writer.
@Suite(.timeLimit(.minutes(2))) struct InlineCommitTests {
    /// A deferred write queued at an idle writer, then a waited-for write: one commit carries
    /// both, deferred first. Returns the writer's wake-ups meanwhile and the two sequence numbers.
    private func deferredThenUrgent(_ store: Store, _ clock: ManualClock) async throws -> (wakeups: Int, deferred: UInt64, urgent: UInt64) {
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { store.committer.isIdle })
        let deferred = store.enqueue([.enqueue(draft("deferred"))], deferrable: true)
        #expect(await clock.waitForSleepers(1))          // the writer waits for the deferred write's limit
        let before = try store.stats()
        let urgent = try await store.outbox.enqueue(draft("urgent"))
        guard case .enqueued(let deferredSeq)? = try await deferred.results().first else {
            Issue.record("the deferred write must be committed with the urgent one")
            return (0, 0, 0)
        }
        let after = try store.stats()
        #expect(after.commits == before.commits + 1, "one commit for both")
        return (after.writerWakeups - before.writerWakeups, deferredSeq, urgent)
    }

    @Test func withoutFsyncTheCallerCommitsWithoutWakingTheWriter() async throws {
        try await withClockedStore(durable: false) { store, clock in
            let (wakeups, deferred, urgent) = try await deferredThenUrgent(store, clock)
            #expect(wakeups == 0, "the writer thread was woken for a write its caller could commit")
            #expect(deferred < urgent, "the deferred write keeps its place before the later one")
            #expect(try store.outbox.count() == 2)
        }
    }

    @Test func aDurableStoreStillHandsTheWriteToTheWriter() async throws {
        try await withClockedStore(durable: true) { store, clock in
            let (wakeups, deferred, urgent) = try await deferredThenUrgent(store, clock)
            #expect(wakeups >= 1, "a durable commit goes through the writer thread (its fsync is shared)")
            #expect(deferred < urgent)
        }
    }

    /// Callers committing on their own threads, deferred writes and the writer thread all at
    /// once: every write is committed once, each caller's in the order it made them, and close
    /// waits for all of it.
    @Test func concurrentCallersDeferredWritesAndCloseLoseNothingAndKeepEachCallersOrder() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path, mapSize: 256 << 20, durable: false)
        let callers = 8, writes = 150
        let sequences = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var seqs: [UInt64] = []
                    for index in 0..<writes {
                        if index % 3 == 0 {
                            // A deferred write, waited for only at the end of the round.
                            let pending = store.enqueue([.enqueue(draft("c\(caller)-d\(index)"))], deferrable: true)
                            let urgent = try await store.outbox.enqueue(draft("c\(caller)-u\(index)"))
                            guard case .enqueued(let seq)? = try await pending.results().first else { throw StoreError.closed }
                            seqs += [seq, urgent]
                        } else {
                            seqs.append(try await store.outbox.enqueue(draft("c\(caller)-u\(index)")))
                        }
                    }
                    return seqs
                }
            }
            var all: [[UInt64]] = []
            for try await seqs in group { all.append(seqs) }
            return all
        }
        for seqs in sequences { #expect(seqs == seqs.sorted(), "a caller's writes committed out of order") }
        let all = sequences.flatMap { $0 }
        #expect(Set(all).count == all.count)
        #expect(try store.outbox.count() == all.count)
        await store.close()
    }
}
