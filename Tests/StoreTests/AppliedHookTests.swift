import Dispatch
import Synchronization
import Testing
@testable import Store

/// `Store.enqueue(_:applied:)`: a caller hears a write's results once it is applied, before its
/// transaction commits, so it can act (send) while the fsync runs.
@Suite struct AppliedHookTests {
    @Test("the applied hook runs once, with the write's results, before the write is committed")
    func appliedComesBeforeTheCommitWithTheSameResults() async throws {
        try await withStore { store, _ in
            let heard = Mutex<[[StoreOperationResult]]>([])
            let reachedApply = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
            let pending = store.enqueue([.enqueue(draft("a")), .enqueue(draft("b"))]) { results in
                heard.withLock { $0.append(results) }
                reachedApply.signal()
                release.wait()   // holds the transaction open: the test looks meanwhile
            }
            await waitOffThread(reachedApply)
            // Applied, not committed: nobody else can read it yet.
            #expect(try store.outbox.entries(uid: "a").isEmpty)
            #expect(heard.withLock { $0.count } == 1)
            release.signal()
            let results = try await pending.results()
            #expect(heard.withLock { $0 } == [results])
            guard case .enqueued(let first) = results.first, case .enqueued(let second) = results.last else {
                Issue.record("unexpected results \(results)")
                return
            }
            #expect(second == first + 1)
            #expect(try store.outbox.entries(uid: "a").map(\.seq) == [first])
        }
    }

    @Test("a write the store refuses never reaches its applied hook")
    func aRefusedWriteIsNeverApplied() async throws {
        try await withStore(mapSize: 1 << 20) { store, _ in
            let heard = Atomic<Int>(0)
            let pending = store.enqueue([.enqueue(draft("small")), .enqueue(draft("huge", size: 4 << 20))]) { _ in
                heard.wrappingAdd(1, ordering: .relaxed)
            }
            await #expect(throws: StoreError.self) { try await pending.results() }
            #expect(heard.load(ordering: .relaxed) == 0)
            let stored = try store.outbox.entries(uid: "small")
            #expect(stored.isEmpty, "nothing of the refused write is stored")
        }
    }

    /// Waits for `semaphore` without blocking a Swift concurrency thread.
    private func waitOffThread(_ semaphore: DispatchSemaphore) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                semaphore.wait()
                done.resume()
            }
        }
    }
}
