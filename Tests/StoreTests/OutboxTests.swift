import Testing
@testable import Store

@Suite struct OutboxTests {
    @Test func enqueuedEntriesComeBackDueInFIFOOrder() async throws {
        try await withStore { store, _ in
            var seqs: [UInt64] = []
            for index in 0..<5 { seqs.append(try await store.outbox.enqueue(draft("u\(index)", to: UInt32(index)))) }
            #expect(seqs == seqs.sorted())
            #expect(Set(seqs).count == 5)
            let due = try store.outbox.due(now: at(1), limit: 10)
            #expect(due.map(\.uid) == ["u0", "u1", "u2", "u3", "u4"])
            #expect(due.map(\.seq) == seqs)
            let first = try #require(due.first)
            #expect(first.payload.count == 300)
            #expect(first.attempts == 0)
            #expect(first.lastRelay == nil)
            #expect(first.deadline == at(300))
            #expect(try store.outbox.due(now: at(1), limit: 2).map(\.uid) == ["u0", "u1"])
            #expect(try store.outbox.count() == 5)
        }
    }

    /// The postman's read: entries it has in flight are left out (and said to be), and the
    /// limit counts only the entries returned.
    @Test func dueSkipsTheNumbersItIsGiven() async throws {
        try await withStore { store, _ in
            var seqs: [UInt64] = []
            for index in 0..<6 { seqs.append(try await store.outbox.enqueue(draft("u\(index)", to: UInt32(index)))) }
            let none = try store.outbox.due(now: at(1), limit: 10, skipping: [])
            #expect(none.entries.map(\.uid) == ["u0", "u1", "u2", "u3", "u4", "u5"] && !none.skipped)
            let some = try store.outbox.due(now: at(1), limit: 2, skipping: [seqs[0], seqs[2]])
            #expect(some.entries.map(\.uid) == ["u1", "u3"] && some.skipped)
            let all = try store.outbox.due(now: at(1), limit: 10, skipping: Set(seqs))
            #expect(all.entries.isEmpty && all.skipped)
            // Not yet due: neither returned nor counted as skipped.
            let early = try store.outbox.due(now: at(-1_000), limit: 10, skipping: Set(seqs))
            #expect(early.entries.isEmpty && !early.skipped)
        }
    }

    @Test func notYetDueEntriesAreHeldBack() async throws {
        try await withStore { store, _ in
            _ = try await store.outbox.enqueue(draft("later", notBefore: at(10)))
            _ = try await store.outbox.enqueue(draft("now", notBefore: at(0)))
            #expect(try store.outbox.due(now: at(5), limit: 10).map(\.uid) == ["now"])
            #expect(try store.outbox.due(now: at(10), limit: 10).map(\.uid) == ["now", "later"])
            #expect(try store.outbox.nextDueTime() == at(0))
        }
    }

    @Test func markAttemptReschedulesAndRecordsTheRelay() async throws {
        try await withStore { store, _ in
            let a = try await store.outbox.enqueue(draft("a"))
            let b = try await store.outbox.enqueue(draft("b"))
            #expect(try await store.outbox.markAttempt(seq: a, relay: "wss://r1", nextAttempt: at(5)))
            // Retry order: "b" is due now, "a" only after its retry time.
            #expect(try store.outbox.due(now: at(1), limit: 10).map(\.seq) == [b])
            #expect(try store.outbox.due(now: at(5), limit: 10).map(\.seq) == [b, a])
            let entry = try #require(try store.outbox.entry(seq: a))
            #expect(entry.attempts == 1)
            #expect(entry.lastRelay == "wss://r1")
            #expect(entry.nextAttempt == at(5))
            #expect(try await store.outbox.markAttempt(seq: a, relay: "wss://r2", nextAttempt: at(7)))
            #expect(try store.outbox.entry(seq: a)?.attempts == 2)
            #expect(try store.outbox.entry(seq: a)?.lastRelay == "wss://r2")
            #expect(try await store.outbox.markAttempt(seq: 999, relay: nil, nextAttempt: at(1)) == false)
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    @Test func removeDeletesEntryAndIndexes() async throws {
        try await withStore { store, _ in
            let seqs = try await store.outbox.enqueue([draft("multi", to: 1), draft("multi", to: 2), draft("other", to: 3)])
            #expect(seqs.count == 3)
            #expect(try store.outbox.entries(uid: "multi").map(\.destination) == [1, 2])
            #expect(try await store.outbox.remove(seq: seqs[0]))
            #expect(try await store.outbox.remove(seq: seqs[0]) == false)
            #expect(try store.outbox.entries(uid: "multi").map(\.destination) == [2])
            #expect(try store.outbox.entry(seq: seqs[0]) == nil)
            #expect(try await store.outbox.remove(seqs: [seqs[1], seqs[2], 12345]) == 2)
            #expect(try store.outbox.count() == 0)
            #expect(try store.outbox.due(now: at(1), limit: 10).isEmpty)
            #expect(try store.outbox.nextDueTime() == nil)
            let report = try store.verifyConsistency()
            #expect(report.isConsistent, "\(report.problems)")
        }
    }

    @Test func uidLookupIsExactAndHandlesLongUIDs() async throws {
        try await withStore { store, _ in
            let long = String(repeating: "x", count: 5000)
            _ = try await store.outbox.enqueue(draft("ab"))
            _ = try await store.outbox.enqueue(draft("abc"))
            _ = try await store.outbox.enqueue(draft(long))
            #expect(try store.outbox.entries(uid: "ab").map(\.uid) == ["ab"])
            #expect(try store.outbox.entries(uid: "abc").map(\.uid) == ["abc"])
            #expect(try store.outbox.entries(uid: long).map(\.uid) == [long])
            #expect(try store.outbox.entries(uid: "a").isEmpty)
        }
    }

    @Test func expiredEntriesAreNotDue() async throws {
        try await withStore { store, _ in
            _ = try await store.outbox.enqueue(draft("short", deadline: at(2)))
            _ = try await store.outbox.enqueue(draft("long", deadline: at(100)))
            #expect(try store.outbox.due(now: at(2), limit: 10).map(\.uid) == ["long"])
        }
    }

    @Test func sequenceNumbersSurviveReopenAndAreNeverReused() async throws {
        let directory = try TemporaryDirectory()
        var store = try Store.open(path: directory.path, mapSize: 16 << 20)
        let first = try await store.outbox.enqueue(draft("a"))
        let second = try await store.outbox.enqueue(draft("b"))
        #expect(try await store.outbox.remove(seq: second))
        await store.close()
        store = try Store.open(path: directory.path, mapSize: 16 << 20)
        let third = try await store.outbox.enqueue(draft("c"))
        #expect(third > second)
        #expect(try store.outbox.entry(seq: first)?.uid == "a")
        #expect(try store.outbox.due(now: at(1), limit: 10).map(\.uid) == ["a", "c"])
        await store.close()
    }
}
