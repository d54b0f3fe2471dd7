import Testing
@testable import Store

@Suite struct MapFullTests {
    /// Enqueues until the store refuses; returns the sequence numbers stored.
    private func fill(_ store: Store, size: Int = 4000) async throws -> [UInt64] {
        var seqs: [UInt64] = []
        while seqs.count < 10_000 {
            let result: Result<UInt64, StoreError>
            do {
                result = .success(try await store.outbox.enqueue(draft("fill-\(seqs.count)", size: size)))
            } catch {
                result = .failure(error)
            }
            switch result {
            case let .success(seq):
                seqs.append(seq)
            case let .failure(error):
                guard case let .full(message) = error else { throw error }
                #expect(message.contains("store is full"))
                #expect(message.contains("nothing was stored"))
                return seqs
            }
        }
        Issue.record("the map never filled")
        return seqs
    }

    @Test func fullIsAClearErrorAndNothingIsLost() async throws {
        try await withStore(mapSize: 1 << 20) { store, directory in
            let stored = try await fill(store)
            #expect(stored.count > 20)
            #expect(try store.outbox.count() == stored.count)
            // An atomic unit that does not fit leaves nothing behind.
            await #expect(throws: StoreError.self) {
                try await store.commit([.putBacklog(BacklogEntry(uid: "b", reference: nil, replyTo: "r", destinations: [1], deadline: at(9))),
                                        .enqueue(draft("big", size: 200_000))])
            }
            #expect(try store.backlog.get(uid: "b", now: t0) == nil)
            #expect(try store.outbox.entries(uid: "big").isEmpty)
            #expect(try store.verifyConsistency().isConsistent)

            // Removing makes room again.
            #expect(try await store.outbox.remove(seqs: Array(stored.prefix(10))) == 10)
            _ = try await store.outbox.enqueue(draft("after", size: 4000))
            #expect(try store.outbox.count() == stored.count - 9)
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    @Test func removalsInABatchWithRefusedWritesStillSucceed() async throws {
        try await withStore(mapSize: 1 << 20) { store, _ in
            let stored = try await fill(store)
            // Many concurrent writers, one remover: they share batches; the big writes fail
            // alone, and the removals commit.
            let outcomes = try await withThrowingTaskGroup(of: (Bool, Bool).self) { group in
                for index in 0..<16 {
                    group.addTask {
                        do {
                            _ = try await store.outbox.enqueue(draft("big-\(index)", size: 100_000))
                            return (false, true)
                        } catch StoreError.full {
                            return (false, false)
                        }
                    }
                }
                group.addTask { (try await store.outbox.remove(seqs: Array(stored.prefix(5))) == 5, true) }
                var results: [(Bool, Bool)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(outcomes.contains { $0.0 })   // the removal succeeded
            #expect(outcomes.filter { !$0.1 }.count == 16)   // every oversized write refused
            #expect(try store.outbox.count() == stored.count - 5)
            let report = try store.verifyConsistency()
            #expect(report.isConsistent, "\(report.problems)")
        }
    }

    @Test func dataSurvivesReopenAfterTheMapFilled() async throws {
        let directory = try TemporaryDirectory()
        var store = try Store.open(path: directory.path, mapSize: 1 << 20)
        let stored = try await fill(store)
        await store.close()
        store = try Store.open(path: directory.path, mapSize: 4 << 20)
        #expect(try store.outbox.count() == stored.count)
        #expect(try store.verifyConsistency().isConsistent)
        _ = try await store.outbox.enqueue(draft("more", size: 4000))
        await store.close()
    }
}
