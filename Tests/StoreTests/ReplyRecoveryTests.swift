import Testing
@testable import Store

/// The records that recover a reply lost in flight (issue 5): the requester's awaiting requests
/// and the responder's stored replies. The writer checks deadlines against the wall clock, so
/// these tests use deadlines relative to now.
@Suite struct ReplyRecoveryTests {
    func later(_ seconds: Int64) -> StoreTime { StoreTime.now.adding(milliseconds: seconds * 1000) }

    func request(_ uid: String, to destination: UInt32 = 41, deadline: StoreTime) -> OutboxDraft {
        OutboxDraft(uid: uid, destination: destination, kind: .request, payload: Array("signed \(uid)→\(destination)".utf8), deadline: deadline, notBefore: t0)
    }

    // MARK: Requester

    @Test func aConfirmedRequestIsKeptUntilItsReplyArrives() async throws {
        try await withStore { store, _ in
            let deadline = later(120)
            let seqs = try await store.outbox.enqueue([request("u", to: 41, deadline: deadline), request("u", to: 42, deadline: deadline)])
            let resendAt = later(60)
            let results = try await store.commit(seqs.map { .confirmOutbox(seq: $0, resendAt: resendAt) })
            #expect(results == [.removed(found: true), .removed(found: true)])
            #expect(try store.outbox.count() == 0)

            let kept = try #require(try store.awaiting.get(AwaitingKey(uid: "u", destination: 41)))
            #expect(kept.envelope == Array("signed u→41".utf8))
            #expect(kept.deadline == deadline && kept.nextResend == resendAt && kept.resends == 0)
            #expect(try store.awaiting.count() == 2)

            // The reply from 41 ends the wait for 41 only (multi-dst).
            #expect(try await store.commit([.removeAwaiting(AwaitingKey(uid: "u", destination: 41))]) == [.removed(found: true)])
            #expect(try await store.commit([.removeAwaiting(AwaitingKey(uid: "u", destination: 41))]) == [.removed(found: false)])
            #expect(try store.awaiting.get(AwaitingKey(uid: "u", destination: 41)) == nil)
            #expect(try store.awaiting.get(AwaitingKey(uid: "u", destination: 42)) != nil)
            let consistency = try store.verifyConsistency()
            #expect(consistency.isConsistent && consistency.awaitingEntries == 1, "\(consistency.problems)")
        }
    }

    @Test func onlyRequestsAreKeptAndNotWhenTheReplyOvertookTheConfirmation() async throws {
        try await withStore { store, _ in
            let deadline = later(120)
            var response = request("r", deadline: deadline)
            response.kind = .response
            let seqs = try await store.outbox.enqueue([response, request("answered", to: 7, deadline: deadline), request("expired", deadline: later(-1))])
            // The reply to "answered" is already in the inbox.
            _ = try await store.inbox.record(InboxDraft(key: InboxKey(source: 7, uid: "answered", kind: .response), deadline: deadline, payload: []))
            let results = try await store.commit(seqs.map { .confirmOutbox(seq: $0, resendAt: nil) })
            #expect(results == Array(repeating: .removed(found: true), count: 3))
            #expect(try store.awaiting.count() == 0)
            #expect(try store.outbox.count() == 0)
            #expect(try await store.commit([.confirmOutbox(seq: 999, resendAt: nil)]) == [.removed(found: false)])
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    @Test func aResendQueuesTheSameBytesAndReschedules() async throws {
        try await withStore { store, _ in
            let deadline = later(120)
            let seq = try await store.outbox.enqueue(request("u", deadline: deadline))
            _ = try await store.commit([.confirmOutbox(seq: seq, resendAt: later(-5))])
            let key = AwaitingKey(uid: "u", destination: 41)
            #expect(try store.awaiting.due(limit: 10).map(\.key) == [key])

            let next = later(90)
            guard case let .resent(seq: resentSeq?) = try await store.commit([.resendAwaiting(key, nextResend: next)]).first else {
                Issue.record("a kept request is re-sent")
                return
            }
            let copy = try #require(try store.outbox.entry(seq: resentSeq))
            #expect(copy.uid == "u" && copy.destination == 41 && copy.kind == .request && copy.deadline == deadline)
            #expect(copy.payload == Array("signed u→41".utf8))
            #expect(try store.outbox.due(limit: 10).map(\.seq) == [resentSeq])
            let record = try #require(try store.awaiting.get(key))
            #expect(record.resends == 1 && record.nextResend == next)
            #expect(try store.awaiting.due(limit: 10).isEmpty)

            // Confirming the copy leaves the record and its schedule alone.
            _ = try await store.commit([.confirmOutbox(seq: resentSeq, resendAt: later(10))])
            #expect(try store.awaiting.get(key) == record)

            // No next re-send: the record stays (for a restart) but is never due.
            _ = try await store.commit([.resendAwaiting(key, nextResend: nil)])
            #expect(try store.awaiting.get(key)?.nextResend == nil)
            #expect(try store.awaiting.due(now: later(1000), limit: 10).isEmpty)
            // Gone → nothing queued.
            _ = try await store.commit([.removeAwaiting(key)])
            #expect(try await store.commit([.resendAwaiting(key, nextResend: nil)]) == [.resent(seq: nil)])
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    @Test func entriesPageThroughEverythingKept() async throws {
        try await withStore { store, _ in
            let seqs = try await store.outbox.enqueue((0..<7).map { request("p\($0)", to: UInt32($0), deadline: later(120)) })
            _ = try await store.commit(seqs.map { .confirmOutbox(seq: $0, resendAt: nil) })
            var seen: [AwaitingKey] = []
            var last: AwaitingKey?
            while true {
                let page = try store.awaiting.entries(after: last, limit: 3)
                guard let tail = page.last else { break }
                #expect(page.count <= 3)
                seen += page.map(\.key)
                last = tail.key
            }
            #expect(seen.count == 7 && Set(seen).count == 7)
            #expect(seen == seen.sorted())
        }
    }

    @Test func keptRequestsExpireWithTheirDeadline() async throws {
        try await withStore { store, _ in
            let soon = later(30)
            let seqs = try await store.outbox.enqueue([request("old", deadline: soon), request("young", deadline: later(300))])
            _ = try await store.commit(seqs.map { .confirmOutbox(seq: $0, resendAt: later(15)) })
            let report = try await store.sweepExpired(now: soon, limit: 100)
            #expect(report.awaitingRemoved == 1 && report.total == 1)
            #expect(try store.awaiting.get(AwaitingKey(uid: "old", destination: 41)) == nil)
            #expect(try store.awaiting.count() == 1)
            // An expired but unswept record is never due (listing still pages over it).
            #expect(try store.awaiting.due(now: later(400), limit: 10).isEmpty)
            #expect(try store.awaiting.entries(limit: 10).map(\.uid) == ["young"])
            #expect(try store.stats().awaiting.entries == 1)
            let consistency = try store.verifyConsistency()
            #expect(consistency.isConsistent, "\(consistency.problems)")
        }
    }

    @Test func keptRequestsSurviveAReopen() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path, mapSize: 16 << 20)
        let seq = try await store.outbox.enqueue(request("durable", deadline: later(120)))
        _ = try await store.commit([.confirmOutbox(seq: seq, resendAt: nil)])
        await store.close()
        let reopened = try Store.open(path: directory.path, mapSize: 16 << 20)
        #expect(try reopened.awaiting.entries(limit: 10).map(\.uid) == ["durable"])
        await reopened.close()
    }

    // MARK: Responder

    @Test func aDuplicateOfAnAnsweredRequestGetsTheStoredReply() async throws {
        try await withStore { store, _ in
            let key = InboxKey(source: 7, uid: "q", kind: .request)
            let reply = StoredReply(kind: .response, envelope: Array("signed reply".utf8), deadline: later(1800))
            let draft = InboxDraft(key: key, deadline: later(120), payload: Array("for the service".utf8))
            guard case .new = try await store.inbox.record(draft) else {
                Issue.record("first copy is new")
                return
            }
            // Not answered yet: a duplicate is dropped as before.
            #expect(try await store.inbox.record(draft) == .duplicate(delivered: false))
            _ = try await store.inbox.markDelivered(key)
            #expect(try await store.inbox.record(draft) == .duplicate(delivered: true))

            // The service answered: the reply is kept with the request (same commit as its outbox entry).
            let results = try await store.commit([.enqueue(request("q", to: 7, deadline: reply.deadline)), .attachReply(reply, to: key)])
            #expect(results.last == .updated(found: true))
            // A burst of copies (one transaction, so one instant) re-sends it once per interval.
            #expect(try await store.commit([.recordInbox(draft), .recordInbox(draft)]) == [.inbox(.answered(reply: reply)), .inbox(.duplicate(delivered: true))])
            try await Task.sleep(for: .milliseconds(Int(StoredReply.resendInterval) + 50))
            #expect(try await store.inbox.record(draft) == .answered(reply: reply))

            // A second answer is sent but not kept; an answer to an unknown request keeps nothing.
            let other = StoredReply(kind: .error, envelope: [1, 2, 3], deadline: later(60))
            #expect(try await store.commit([.attachReply(other, to: key)]) == [.updated(found: true)])
            #expect(try await store.commit([.attachReply(other, to: InboxKey(source: 8, uid: "q", kind: .request))]) == [.updated(found: false)])
            #expect(try store.inbox.count() == 1)
            #expect(try store.verifyConsistency().isConsistent)
        }
    }

    @Test func theStoredReplySurvivesDeliveryAndReopenAndExpiresWithTheRequest() async throws {
        let directory = try TemporaryDirectory()
        let key = InboxKey(source: 9, uid: "kept", kind: .request)
        let reply = StoredReply(kind: .error, envelope: Array(repeating: 0xAB, count: 5000), deadline: later(1800))
        let deadline = later(60)
        let draft = InboxDraft(key: key, deadline: deadline, payload: [1])
        let store = try Store.open(path: directory.path, mapSize: 16 << 20)
        _ = try await store.inbox.record(draft)
        _ = try await store.commit([.attachReply(reply, to: key)])
        _ = try await store.inbox.markDelivered(key)   // rewrites the record: the reply stays
        await store.close()

        let reopened = try Store.open(path: directory.path, mapSize: 16 << 20)
        #expect(try await reopened.inbox.record(draft) == .answered(reply: reply))
        let report = try await reopened.sweepExpired(now: deadline, limit: 10)
        #expect(report.inboxRemoved == 1)
        guard case .new = try await reopened.inbox.record(draft) else {
            Issue.record("the request and its reply are forgotten at the request's deadline")
            await reopened.close()
            return
        }
        #expect(try reopened.verifyConsistency().isConsistent)
        await reopened.close()
    }

    @Test func recordsWithoutAReplyKeepTheVersionOneFormat() throws {
        var record = InboxRecord(uid: "v", deadline: t0, receivedAt: t0, pendingSeq: 3, payload: [9])
        #expect(record.encoded().first == 1)
        #expect(try InboxRecord(decoding: record.encoded()).reply == nil)
        record.reply = StoredReply(kind: .response, envelope: [7, 7], deadline: at(10))
        record.replyResentAt = at(5)
        let bytes = record.encoded()
        #expect(bytes.first == 2)
        let decoded = try InboxRecord(decoding: bytes)
        #expect(decoded.reply == record.reply && decoded.replyResentAt == at(5) && decoded.pendingSeq == 3 && decoded.payload == [9])
        #expect(throws: StoreError.self) { try InboxRecord(decoding: Array(bytes.dropLast())) }
        #expect(throws: StoreError.self) { try AwaitingRequest(decoding: [1, 0, 0]) }
    }

    /// A request the peer answers itself (`rmb.version`) is recorded with its answer in one
    /// transaction: recorded-but-unanswered cannot survive a crash, and a repeat queues nothing new.
    @Test func aSelfAnsweredRequestIsRecordedWithItsAnswer() async throws {
        try await withStore { store, _ in
            let deadline = later(120)
            let key = InboxKey(source: 7, uid: "v", kind: .request)
            let record = InboxDraft(key: key, deadline: deadline, payload: [])
            var answer = request("v", to: 7, deadline: deadline)
            answer.kind = .response
            let first = try await store.commit([.answerInbox(record, reply: answer)])
            guard case .inbox(.new)? = first.first else { Issue.record("first copy: \(first)"); return }
            #expect(try store.outbox.count() == 1)
            #expect(try store.outbox.due(now: later(1), limit: 10).map(\.payload) == [answer.payload])

            // A repeat queues no second answer; the kept one is handed back for a re-send.
            let repeated = try await store.commit([.answerInbox(record, reply: answer)])
            #expect(try store.outbox.count() == 1)
            guard case .inbox(.answered(let kept))? = repeated.first else { Issue.record("repeat: \(repeated)"); return }
            #expect(kept.envelope == answer.payload && kept.kind == .response)
            #expect(try store.verifyConsistency().isConsistent)
        }
    }
}
