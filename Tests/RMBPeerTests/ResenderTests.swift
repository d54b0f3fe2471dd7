import Foundation
import Logging
import RMBTestSupport
import Store
import Synchronization
import Testing
@testable import RMBEngine
@testable import RMBPeer

/// The re-sends that recover requests (or their replies) lost in a relay: after a lost relay
/// connection, only what was confirmed shortly before and is still unanswered goes out again.
/// Time is the test's: the store stamps with a manual wall clock, the passes run on a manual clock.
struct ResenderTests {
    /// A wall clock for the store that moves only when told.
    final class ManualWallClock: Sendable {
        private let current: Mutex<StoreTime>
        init(_ start: StoreTime) { current = Mutex(start) }
        var now: StoreTime { current.withLock { $0 } }
        func advance(milliseconds: Int64) { current.withLock { $0 = $0.adding(milliseconds: milliseconds) } }
    }

    @Test func aLostRelayConnectionResendsRecentUnansweredRequestsAtOnce() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-resender-\(UUID().uuidString)").path
        let wall = ManualWallClock(StoreTime.now)
        let store = try Store.open(path: path, now: { wall.now })
        defer { try? FileManager.default.removeItem(atPath: path) }
        let deadline = wall.now.adding(milliseconds: 120_000)
        func confirm(_ uid: String) async throws {
            let seq = try await store.outbox.enqueue(OutboxDraft(uid: uid, destination: 7, kind: .request,
                                                                 payload: Array("signed \(uid)".utf8), deadline: deadline))
            // Next periodic re-send a minute away: only the relay loss can bring it forward.
            _ = try await store.commit([.confirmOutbox(seq: seq, resendAt: wall.now.adding(milliseconds: 60_000))])
        }
        let lost = Atomic<UInt64>(0)
        let clock = ManualClock()
        var resender = Resender(store: store, wakePostman: {}, connectionsLost: { lost.load(ordering: .relaxed) },
                                metrics: PeerMetrics(), logger: Logger(label: "test"))
        resender.interval = .seconds(1)
        resender.strandWindow = 400
        resender.clock = clock
        // Started first: its pass over a previous run's requests finds none.
        let running = Task { await resender.run() }
        #expect(await clock.waitForSleepers(1))
        try await confirm("old")
        wall.advance(milliseconds: 600)
        try await confirm("recent")
        try await confirm("answered")
        _ = try await store.commit([.removeAwaiting(AwaitingKey(uid: "answered", destination: 7))])
        // A pass with every connection holding re-sends nothing.
        clock.advance(by: .seconds(1))
        #expect(await clock.waitForSleepers(1))
        #expect(try store.outbox.count() == 0, "nothing is re-sent while every connection holds")

        // A connection is lost: the next pass re-sends what was confirmed in the last 400 ms
        // ("recent", 0 ms ago), not "old" (600 ms ago) nor the answered one.
        lost.store(1, ordering: .relaxed)
        clock.advance(by: .seconds(1))
        #expect(await clock.waitForSleepers(1))
        let resent = try store.outbox.due(now: wall.now.adding(milliseconds: 1_000), limit: 10)
        running.cancel()
        await running.value
        #expect(resent.map(\.uid) == ["recent"])
        #expect(resent.first?.payload == Array("signed recent".utf8))
        await store.close()
    }
}
