import Foundation
import Testing
@testable import TwinDirectory

@Suite struct CachedTwinDirectoryTests {
    private func makeCache(
        _ backend: CountingDirectory,
        clock: ManualClock,
        positive: Duration = .seconds(300),
        negative: Duration = .seconds(30),
        maximum: Int = 500
    ) -> CachedTwinDirectory {
        CachedTwinDirectory(
            backend: backend,
            configuration: .init(positiveTTL: positive, negativeTTL: negative, maximumEntries: maximum),
            now: { clock.now }
        )
    }

    @Test func hitsAreServedUntilTheTTLExpires() async throws {
        let twin = try SampleTwins.twin(7, relays: ["relay.example.com"])
        let backend = CountingDirectory([twin])
        let clock = ManualClock()
        let cache = makeCache(backend, clock: clock, positive: .seconds(60))

        #expect(try await cache.twin(id: 7) == twin)
        #expect(try await cache.twin(id: 7) == twin)
        #expect(await backend.twinCalls[7] == 1)

        // A change on the backend is invisible until the entry expires…
        var updated = twin
        updated.relays = [try RelayAddress(parsing: "other.example.com")]
        await backend.set(updated)
        clock.advance(by: .seconds(59))
        #expect(try await cache.twin(id: 7) == twin)
        #expect(await backend.twinCalls[7] == 1)

        // …and visible right after.
        clock.advance(by: .seconds(2))
        #expect(try await cache.twin(id: 7) == updated)
        #expect(await backend.twinCalls[7] == 2)
        #expect(cache.statistics.hits == 2)
        #expect(cache.statistics.backendRequests == 2)
    }

    @Test func notFoundIsCachedForTheShorterNegativeTTL() async throws {
        let backend = CountingDirectory([])
        let clock = ManualClock()
        let cache = makeCache(backend, clock: clock, positive: .seconds(300), negative: .seconds(10))

        #expect(try await cache.twin(id: 99) == nil)
        #expect(try await cache.twin(id: 99) == nil)
        #expect(await backend.twinCalls[99] == 1)

        let account = try SampleTwins.account(99)
        #expect(try await cache.twinID(account: account) == nil)
        #expect(try await cache.twinID(account: account) == nil)
        #expect(await backend.accountCalls == 1)

        // The twin gets created; after the negative TTL it is found.
        await backend.set(try SampleTwins.twin(99))
        clock.advance(by: .seconds(9))
        #expect(try await cache.twin(id: 99) == nil)
        clock.advance(by: .seconds(2))
        #expect(try await cache.twin(id: 99)?.id == 99)
        #expect(await backend.twinCalls[99] == 2)
        // The found twin also answered the account lookup (no extra backend call).
        #expect(try await cache.twinID(account: account) == 99)
        #expect(await backend.accountCalls == 1)
    }

    @Test func accountLookupsAreCached() async throws {
        let twin = try SampleTwins.twin(41)
        let backend = CountingDirectory([twin])
        let cache = makeCache(backend, clock: ManualClock())
        #expect(try await cache.twinID(account: twin.account) == 41)
        #expect(try await cache.twinID(account: twin.account) == 41)
        #expect(await backend.accountCalls == 1)
    }

    @Test func sizeIsBoundedAndLeastRecentlyUsedGoesFirst() async throws {
        let twins = try (1...50).map { try SampleTwins.twin(UInt32($0)) }
        let backend = CountingDirectory(twins)
        let cache = makeCache(backend, clock: ManualClock(), maximum: 3)

        _ = try await cache.twin(id: 1)
        _ = try await cache.twin(id: 2)
        _ = try await cache.twin(id: 3)
        _ = try await cache.twin(id: 1)          // 1 is now more recent than 2
        _ = try await cache.twin(id: 4)          // evicts 2
        #expect(cache.cachedTwinCount == 3)
        _ = try await cache.twin(id: 1)
        _ = try await cache.twin(id: 3)
        _ = try await cache.twin(id: 4)
        #expect(await backend.twinCalls[1] == 1)
        #expect(await backend.twinCalls[3] == 1)
        _ = try await cache.twin(id: 2)
        #expect(await backend.twinCalls[2] == 2)

        for id in 5...50 { _ = try await cache.twin(id: UInt32(id)) }
        #expect(cache.cachedTwinCount <= 3)
        #expect(cache.cachedAccountCount <= 3)
        for id in 51...200 { _ = try await cache.twin(id: UInt32(id)) }   // negative entries count too
        #expect(cache.cachedTwinCount <= 3)
    }

    @Test func largeCacheStaysWithinItsBound() async throws {
        let backend = CountingDirectory([])
        let cache = makeCache(backend, clock: ManualClock(), maximum: 100)
        for id in 1...1000 {
            _ = try await cache.twin(id: UInt32(id))
            #expect(cache.cachedTwinCount <= 100)
        }
        // The most recent entry survived the batch evictions.
        _ = try await cache.twin(id: 1000)
        #expect(await backend.twinCalls[1000] == 1)
    }

    @Test func concurrentMissesShareOneBackendRequest() async throws {
        let twin = try SampleTwins.twin(7)
        let backend = CountingDirectory([twin])
        await backend.set(delay: .milliseconds(200))
        let cache = makeCache(backend, clock: ManualClock())

        let results = try await withThrowingTaskGroup(of: Twin?.self) { group in
            for _ in 0..<50 { group.addTask { try await cache.twin(id: 7) } }
            var collected: [Twin?] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == 50)
        #expect(results.allSatisfy { $0 == twin })
        #expect(await backend.twinCalls[7] == 1)
        #expect(cache.statistics.sharedMisses == 49)

        let ids = try await withThrowingTaskGroup(of: UInt32?.self) { group in
            for _ in 0..<20 { group.addTask { try await cache.twinID(account: SampleTwins.account(99)) } }
            var collected: [UInt32?] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(ids.allSatisfy { $0 == nil })
        #expect(await backend.accountCalls == 1)
    }

    @Test func failuresAreSharedButNotCached() async throws {
        let backend = CountingDirectory([try SampleTwins.twin(7)])
        await backend.set(failure: BackendDown())
        await backend.set(delay: .milliseconds(100))
        let cache = makeCache(backend, clock: ManualClock())

        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask { (try? await cache.twin(id: 7)) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 10)
        #expect(await backend.twinCalls[7] == 1)

        await backend.set(failure: nil)
        #expect(try await cache.twin(id: 7)?.id == 7)
        #expect(await backend.twinCalls[7] == 2)
    }

    @Test func invalidateAndRemoveAll() async throws {
        let twin = try SampleTwins.twin(7)
        let backend = CountingDirectory([twin])
        let cache = makeCache(backend, clock: ManualClock())

        _ = try await cache.twin(id: 7)
        cache.invalidate(id: 7)
        #expect(cache.cachedAccountCount == 0)   // the account entry pointing to 7 went too
        _ = try await cache.twin(id: 7)
        #expect(await backend.twinCalls[7] == 2)

        _ = try await cache.twinID(account: twin.account)
        #expect(await backend.accountCalls == 0)       // learned from the twin lookup
        cache.invalidate(account: twin.account)
        _ = try await cache.twinID(account: twin.account)
        #expect(await backend.accountCalls == 1)

        cache.removeAll()
        #expect(cache.cachedTwinCount == 0)
        #expect(cache.cachedAccountCount == 0)
        _ = try await cache.twin(id: 7)
        #expect(await backend.twinCalls[7] == 3)
    }

    @Test func invalidationDuringARequestKeepsItsResultOutOfTheCache() async throws {
        let twin = try SampleTwins.twin(7)
        let backend = CountingDirectory([twin])
        await backend.set(delay: .milliseconds(200))
        let cache = makeCache(backend, clock: ManualClock())

        async let first = cache.twin(id: 7)
        try await Task.sleep(for: .milliseconds(50))
        cache.invalidate(id: 7)
        #expect(try await first == twin)          // the caller still gets its answer
        #expect(cache.cachedTwinCount == 0) // but it was not cached
    }

    @Test func storedTwinsWinOverRunningRequests() async throws {
        let old = try SampleTwins.twin(7, relays: ["old.example.com"])
        let new = try SampleTwins.twin(7, relays: ["new.example.com"])
        let backend = CountingDirectory([old])
        await backend.set(delay: .milliseconds(200))
        let cache = makeCache(backend, clock: ManualClock())

        async let pending = cache.twin(id: 7)
        try await Task.sleep(for: .milliseconds(50))
        cache.store(new)                     // e.g. a TwinUpdated event
        #expect(try await pending == old)
        #expect(try await cache.twin(id: 7) == new)
        #expect(await backend.twinCalls[7] == 1)
    }

    @Test func theObserverHearsEveryMissAndFlushAndPeekingChangesNothing() async throws {
        final class Tally: TwinCacheObserver, @unchecked Sendable {
            let lock = NSLock()
            var misses = 0, flushes = 0
            func twinCacheMissed() { lock.withLock { misses += 1 } }
            func twinCacheFlushed() { lock.withLock { flushes += 1 } }
        }
        let twin = try SampleTwins.twin(7)
        let backend = CountingDirectory([twin])
        let tally = Tally()
        let cache = CachedTwinDirectory(backend: backend, observer: tally, now: { ContinuousClock.now })

        #expect(cache.peek(id: 7) == nil)
        _ = try await cache.twin(id: 7)
        _ = try await cache.twin(id: 7)
        _ = try await cache.twin(id: 99)
        _ = try await cache.twin(id: 99)
        #expect(tally.lock.withLock { tally.misses } == 2)
        #expect(cache.statistics.misses == 2 && cache.statistics.hits == 2)
        #expect(cache.peek(id: 7) == .some(twin))
        #expect(cache.peek(id: 99) == .some(nil))      // known missing
        #expect(cache.statistics.hits == 2)            // peeking is no lookup
        #expect(await backend.twinCalls[7] == 1)

        cache.removeAll()
        #expect(tally.lock.withLock { tally.flushes } == 1)
        #expect(cache.statistics.flushes == 1)
        #expect(cache.peek(id: 7) == nil)
    }
}
