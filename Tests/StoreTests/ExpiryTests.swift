import Testing
@testable import Store

@Suite struct ExpiryTests {
    @Test func sweepRemovesOnlyExpiredItemsOfEveryKind() async throws {
        try await withStore { store, _ in
            let old = try await store.outbox.enqueue(draft("old", deadline: at(10)))
            _ = try await store.outbox.enqueue(draft("young", deadline: at(100)))
            _ = try await store.inbox.record(inboxDraft("in-old", deadline: at(10)))
            _ = try await store.inbox.record(inboxDraft("in-young", deadline: at(100)))
            _ = try await store.inbox.markDelivered(inboxDraft("in-old").key)
            try await store.backlog.put(BacklogEntry(uid: "b-old", reference: nil, replyTo: "r", destinations: [1], deadline: at(10)))
            try await store.backlog.put(BacklogEntry(uid: "b-young", reference: nil, replyTo: "r", destinations: [1], deadline: at(100)))

            let nothing = try await store.sweepExpired(now: at(9), limit: 100)
            #expect(nothing.total == 0)
            #expect(nothing.more == false)

            let report = try await store.sweepExpired(now: at(10), limit: 100)
            #expect(report.expiredOutbox.map(\.seq) == [old])
            #expect(report.expiredOutbox.first?.uid == "old")
            #expect(report.inboxRemoved == 1)
            #expect(report.backlogRemoved == 1)
            #expect(report.more == false)

            #expect(try store.outbox.entries(uid: "old").isEmpty)
            #expect(try store.outbox.entries(uid: "young").count == 1)
            #expect(try store.inbox.state(inboxDraft("in-old").key) == nil)
            #expect(try store.inbox.state(inboxDraft("in-young").key) == .pending)
            #expect(try store.backlog.get(uid: "b-old", now: t0) == nil)
            #expect(try store.backlog.get(uid: "b-young", now: t0) != nil)
            let consistency = try store.verifyConsistency()
            #expect(consistency.isConsistent, "\(consistency.problems)")
        }
    }

    @Test func expiredRequestsComeWithTheirBacklogSoTheClientCanBeTold() async throws {
        try await withStore { store, _ in
            // A request to two twins that no relay took before its deadline; its backlog expires with it.
            _ = try await store.outbox.enqueue(draft("stuck", to: 41, deadline: at(10)))
            _ = try await store.outbox.enqueue(draft("stuck", to: 42, deadline: at(10)))
            try await store.backlog.put(BacklogEntry(uid: "stuck", reference: "ref-1", replyTo: "ret-1", destinations: [41, 42], deadline: at(10)))
            let report = try await store.sweepExpired(now: at(10), limit: 100)
            #expect(report.expiredOutbox.map(\.destination).sorted() == [41, 42])
            #expect(report.expiredRequestBacklogs["stuck"]?.replyTo == "ret-1")
            #expect(report.expiredRequestBacklogs["stuck"]?.reference == "ref-1")
            #expect(report.backlogRemoved == 1)
        }
    }

    @Test func afterTheSweepTheSameEnvelopeIsNewAgain() async throws {
        try await withStore { store, _ in
            let envelope = inboxDraft("u", deadline: at(5))
            _ = try await store.inbox.record(envelope)
            #expect(try await store.inbox.record(envelope) == .duplicate(delivered: false))
            _ = try await store.sweepExpired(now: at(5), limit: 10)
            #expect(try store.inbox.pendingCount() == 0)
            guard case .new = try await store.inbox.record(envelope) else {
                Issue.record("an expired key is forgotten")
                return
            }
        }
    }

    @Test func sweepWorkIsBoundedAndReportsMore() async throws {
        try await withStore { store, _ in
            _ = try await store.commit((0..<25).map { .enqueue(draft("e\($0)", deadline: at(Int64($0)))) })
            var removed: [String] = []
            var sweeps = 0
            while true {
                let report = try await store.sweepExpired(now: at(1000), limit: 10)
                sweeps += 1
                #expect(report.total <= 10)
                removed += report.expiredOutbox.map(\.uid)
                if !report.more { break }
            }
            #expect(sweeps == 3)
            // Deadline order: the oldest goes first.
            #expect(removed == (0..<25).map { "e\($0)" })
            #expect(try store.outbox.count() == 0)
        }
    }

    @Test func statsReportDepthsBytesAndOldestDeadline() async throws {
        try await withStore { store, _ in
            let empty = try store.stats()
            #expect(empty.outbox.entries == 0)
            #expect(empty.outbox.oldestDeadline == nil)
            _ = try await store.outbox.enqueue(draft("a", deadline: at(50)))
            _ = try await store.outbox.enqueue(draft("b", deadline: at(20)))
            _ = try await store.inbox.record(inboxDraft("i", deadline: at(30)))
            try await store.backlog.put(BacklogEntry(uid: "b", reference: nil, replyTo: "r", destinations: [1], deadline: at(40)))
            let stats = try store.stats()
            #expect(stats.outbox.entries == 2)
            #expect(stats.outbox.bytes > 0)
            #expect(stats.outbox.oldestDeadline == at(20))
            #expect(stats.inbox.entries == 1)
            #expect(stats.inboxPending == 1)
            #expect(stats.inbox.oldestDeadline == at(30))
            #expect(stats.backlog.entries == 1)
            #expect(stats.backlog.oldestDeadline == at(40))
            #expect(stats.mapSize == 64 << 20)
            #expect(stats.mapUsedBytes > 0 && stats.mapUsedBytes < stats.mapSize)
            #expect(stats.commits > empty.commits)
        }
    }
}
