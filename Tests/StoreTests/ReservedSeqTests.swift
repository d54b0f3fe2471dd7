import Testing
@testable import Store

/// Outbox numbers reserved ahead (`Store.reserveOutboxSeqs`): a caller knows its entries before
/// the write is applied, and no number is ever handed out twice, across writes that fail and
/// across a reopen.
@Suite struct ReservedSeqTests {
    @Test("a reserved number is the entry's number; the writer's own numbers come after it, never again")
    func reservedNumbersAreKept() async throws {
        try await withStore { store, _ in
            let first = store.reserveOutboxSeqs(3)
            var reserved = draft("reserved", to: 41)
            reserved.reservedSeq = first + 1
            let stored = try await store.outbox.enqueue([reserved, draft("assigned", to: 42)])
            #expect(stored[0] == first + 1)
            #expect(stored[1] == first + 3, "past the three reserved numbers (two of them never written)")
            let due = try store.outbox.due(now: at(1), limit: 10)
            #expect(due.map(\.uid) == ["reserved", "assigned"] && due.map(\.seq) == [first + 1, first + 3])
            #expect(store.reserveOutboxSeqs(1) == first + 4)
        }
    }

    @Test("a reopened store starts above every number written, reserved ones included")
    func reopenedStoreStartsAboveWrittenNumbers() async throws {
        let directory = try TemporaryDirectory()
        var store = try Store.open(path: directory.path, mapSize: 16 << 20)
        _ = store.reserveOutboxSeqs(5)
        var entry = draft("reserved")
        entry.reservedSeq = store.reserveOutboxSeqs(1)
        let written = try #require(entry.reservedSeq)
        _ = try await store.outbox.enqueue(draft("assigned"))   // numbered after the reservation
        _ = try await store.outbox.enqueue(entry)               // the reserved number, written last
        await store.close()
        store = try Store.open(path: directory.path, mapSize: 16 << 20)
        let next = try await store.outbox.enqueue(draft("after"))
        #expect(next > written + 1, "above the reserved entry and the one the writer numbered after it")
        #expect(try store.outbox.due(now: at(1), limit: 10).map(\.uid) == ["reserved", "assigned", "after"])
        await store.close()
    }

    @Test("a write refused for space takes no number back, and the store no longer says it has ample room")
    func refusedWriteSkipsItsNumbers() async throws {
        try await withStore(mapSize: 1 << 20) { store, _ in
            #expect(store.hasAmpleRoom)
            let seq = store.reserveOutboxSeqs(1)
            var huge = draft("huge", size: 4 << 20)
            huge.reservedSeq = seq
            await #expect(throws: StoreError.self) { _ = try await store.outbox.enqueue(huge) }
            #expect(!store.hasAmpleRoom)
            let next = try await store.outbox.enqueue(draft("small"))
            #expect(next > seq)
            #expect(try store.outbox.due(now: at(1), limit: 10).map(\.uid) == ["small"])
        }
    }
}
