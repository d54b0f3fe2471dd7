import Foundation
import Logging
import Store
import Synchronization
import Testing
@testable import RMBPeer

/// The re-sends that recover requests (or their replies) lost in a relay: after a lost relay
/// connection, only what was confirmed shortly before and is still unanswered goes out again.
struct ResenderTests {
    @Test func aLostRelayConnectionResendsRecentUnansweredRequestsAtOnce() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-resender-\(UUID().uuidString)").path
        let store = try Store.open(path: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let deadline = StoreTime.now.adding(milliseconds: 120_000)
        func confirm(_ uid: String) async throws {
            let seq = try await store.outbox.enqueue(OutboxDraft(uid: uid, destination: 7, kind: .request,
                                                                 payload: Array("signed \(uid)".utf8), deadline: deadline))
            // Next periodic re-send a minute away: only the relay loss can bring it forward.
            _ = try await store.commit([.confirmOutbox(seq: seq, resendAt: StoreTime.now.adding(milliseconds: 60_000))])
        }
        let lost = Atomic<UInt64>(0)
        var resender = Resender(store: store, wakePostman: {}, connectionsLost: { lost.load(ordering: .relaxed) },
                                metrics: PeerMetrics(), logger: Logger(label: "test"))
        resender.interval = .milliseconds(50)
        resender.strandWindow = 400
        // Started first: its pass over a previous run's requests finds none.
        let running = Task { await resender.run() }
        try await Task.sleep(for: .milliseconds(100))
        try await confirm("old")
        try await Task.sleep(for: .milliseconds(600))
        try await confirm("recent")
        try await confirm("answered")
        _ = try await store.commit([.removeAwaiting(AwaitingKey(uid: "answered", destination: 7))])
        try await Task.sleep(for: .milliseconds(100))
        #expect(try store.outbox.count() == 0, "nothing is re-sent while every connection holds")

        lost.store(1, ordering: .relaxed)
        var resent: [OutboxEntry] = []
        for _ in 0..<100 where resent.isEmpty {
            try await Task.sleep(for: .milliseconds(20))
            resent = try store.outbox.due(now: StoreTime.now.adding(milliseconds: 1_000), limit: 10)
        }
        running.cancel()
        await running.value
        #expect(resent.map(\.uid) == ["recent"])
        #expect(resent.first?.payload == Array("signed recent".utf8))
        await store.close()
    }
}
