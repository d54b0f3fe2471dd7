import Testing
@testable import Store

@Suite struct InboxTests {
    @Test func secondCopyIsADuplicateBeforeAndAfterDelivery() async throws {
        try await withStore { store, _ in
            let envelope = inboxDraft("u1")
            guard case let .new(pendingSeq) = try await store.inbox.record(envelope) else {
                Issue.record("first copy must be new")
                return
            }
            #expect(try await store.inbox.record(envelope) == .duplicate(delivered: false))
            #expect(try store.inbox.state(envelope.key) == .pending)
            #expect(try store.inbox.pending(limit: 10).map(\.pendingSeq) == [pendingSeq])

            #expect(try await store.inbox.markDelivered(envelope.key))
            #expect(try await store.inbox.markDelivered(envelope.key))   // idempotent
            #expect(try store.inbox.state(envelope.key) == .delivered)
            #expect(try await store.inbox.record(envelope) == .duplicate(delivered: true))
            #expect(try store.inbox.pending(limit: 10).isEmpty)
            #expect(try store.inbox.count() == 1)
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    @Test func containsAnyTellsWhetherAnyKeyIsRecorded() async throws {
        try await withStore { store, _ in
            let recorded = inboxDraft("known"), other = inboxDraft("unknown")
            #expect(try !store.inbox.containsAny([recorded.key, other.key]))
            #expect(try !store.inbox.containsAny([]))
            _ = try await store.inbox.record(recorded)
            #expect(try store.inbox.containsAny([other.key, recorded.key]))
            #expect(try !store.inbox.containsAny([other.key]))
            #expect(try await store.inbox.markDelivered(recorded.key))
            #expect(try store.inbox.containsAny([recorded.key]), "a delivered key is still known")
        }
    }

    @Test func sourceUIDAndKindAllDistinguishEnvelopes() async throws {
        try await withStore { store, _ in
            let variants = [
                inboxDraft("u", from: 7, kind: .request),
                inboxDraft("u", from: 8, kind: .request),
                inboxDraft("u", from: 7, kind: .response),
                inboxDraft("u", from: 7, kind: .error),
                inboxDraft("u2", from: 7, kind: .request),
                inboxDraft(String(repeating: "u", count: 1000), from: 7, kind: .request),
            ]
            for variant in variants {
                guard case .new = try await store.inbox.record(variant) else {
                    Issue.record("\(variant.key) must be new")
                    continue
                }
            }
            #expect(try store.inbox.count() == variants.count)
            #expect(try await store.inbox.markDelivered(InboxKey(source: 9, uid: "u", kind: .request)) == false)
        }
    }

    @Test func pendingListsUndeliveredInArrivalOrderWithFullKeys() async throws {
        try await withStore { store, _ in
            let long = String(repeating: "L", count: 700)
            let drafts = [inboxDraft("a", from: 1), inboxDraft(long, from: 2, kind: .response), inboxDraft("c", from: 3)]
            for draft in drafts { _ = try await store.inbox.record(draft) }
            _ = try await store.inbox.markDelivered(drafts[0].key)
            let pending = try store.inbox.pending(limit: 10)
            #expect(pending.map(\.key) == [drafts[1].key, drafts[2].key])
            #expect(pending.first?.payload == drafts[1].payload)
            // Paging.
            let firstPage = try store.inbox.pending(limit: 1)
            #expect(firstPage.map(\.key) == [drafts[1].key])
            let secondPage = try store.inbox.pending(after: try #require(firstPage.last).pendingSeq, limit: 10)
            #expect(secondPage.map(\.key) == [drafts[2].key])
            #expect(try store.inbox.pendingCount() == 2)
        }
    }

    @Test func concurrentCopiesOfOneEnvelopeYieldExactlyOneNew() async throws {
        try await withStore { store, _ in
            let envelope = inboxDraft("race")
            let outcomes = try await withThrowingTaskGroup(of: InboxOutcome.self) { group in
                for _ in 0..<32 { group.addTask { try await store.inbox.record(envelope) } }
                var outcomes: [InboxOutcome] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let new = outcomes.filter { if case .new = $0 { true } else { false } }
            #expect(new.count == 1)
            #expect(outcomes.count == 32)
        }
    }
}

@Suite struct BacklogTests {
    @Test func putGetReplaceRemove() async throws {
        try await withStore { store, _ in
            let entry = BacklogEntry(uid: "u1", reference: "r1", replyTo: "q-5c1e", module: "", destinations: [41, 42], deadline: at(120))
            try await store.backlog.put(entry)
            let loaded = try #require(try store.backlog.get(uid: "u1", now: t0))
            #expect(loaded == entry)
            #expect(loaded.expects(replyFrom: 41))
            #expect(loaded.expects(replyFrom: 43) == false)
            #expect(try store.backlog.get(uid: "u2", now: t0) == nil)

            var replaced = entry
            replaced.reference = nil
            replaced.deadline = at(200)
            try await store.backlog.put(replaced)
            #expect(try store.backlog.get(uid: "u1", now: t0) == replaced)
            #expect(try store.backlog.count() == 1)
            #expect(try store.verifyConsistency().isConsistent)

            #expect(try await store.backlog.remove(uid: "u1"))
            #expect(try await store.backlog.remove(uid: "u1") == false)
            #expect(try store.backlog.get(uid: "u1", now: t0) == nil)
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    @Test func pastDeadlineIsNotReturnedAndProtobufHasRemainingTTL() async throws {
        try await withStore { store, _ in
            let entry = BacklogEntry(uid: "u1", reference: "r1", replyTo: "ret", module: "file", destinations: [41], deadline: at(120))
            try await store.backlog.put(entry)
            #expect(try store.backlog.get(uid: "u1", now: at(119)) != nil)
            #expect(try store.backlog.get(uid: "u1", now: at(120)) == nil)
            let protobuf = entry.protobuf(now: at(20))
            #expect(protobuf.uid == "u1")
            #expect(protobuf.reference == "r1")
            #expect(protobuf.hasReference)
            #expect(protobuf.replyTo == "ret")
            #expect(protobuf.module == "file")
            #expect(protobuf.ttl == 100)
            #expect(BacklogEntry(uid: "x", reference: nil, replyTo: "r", destinations: [], deadline: t0).protobuf(now: at(1)).hasReference == false)
        }
    }
}
