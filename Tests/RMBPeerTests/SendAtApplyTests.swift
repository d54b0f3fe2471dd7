import Dispatch
import Foundation
import Logging
import RMBProtocol
import RMBTestSupport
import RedisClient
import Redundancy
import Store
import Synchronization
import Testing
import TwinDirectory
@testable import RMBEngine
@testable import RMBPeer

/// The pipeline hands a batch's envelopes to the postman as soon as its write is queued (once it
/// is applied on a store more than half full), not once it is durable: a reply can then come back
/// before its request's backlog entry is readable, and must wait for it rather than be dropped.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct SendAtApplyTests {
    @Test("with room in the store, a request's envelope is handed over while its write is still queued; its reply waits for the write and is delivered")
    func aReplyOvertakingItsRequestsCommitIsDelivered() async throws {
        try await overtake(halfFull: false)
    }

    @Test("in a store more than half full, the envelope is handed over only once its write is applied (a refused write must not have been sent)")
    func aFullishStoreHandsOverAtApply() async throws {
        try await overtake(halfFull: true)
    }

    @Test("for callers in this process (a direct peer's), the reply is delivered at once, while its request's write still waits")
    func inProcessCallersGetTheReplyAtOnce() async throws {
        try await overtake(halfFull: false, callersInProcess: true)
    }

    @Test("a reply for an in-process caller whose front-end takes typed values (a direct peer's) is recorded without its JSON; one for a front-end that reads the JSON keeps it", arguments: [true, false])
    func replyRecordsKeepJSONOnlyWhenSomethingReadsIt(typedOnly: Bool) async throws {
        let fixture = try EngineFixture("reply-json")
        defer { fixture.tearDown() }
        let (store, pair) = (fixture.store, fixture.pair)
        let unsettled = UnsettledRequests()
        let pipeline = OutgoingPipeline(factory: pair.alphaFactory, store: store, postman: Postman.Progress(), doorbell: Doorbell(),
                                        unsettled: unsettled, logger: Logger(label: "test.pipeline"))
        let downstream = Downstream(validator: pair.alphaValidator, factory: pair.alphaFactory, store: store, local: HoldingDelivery(typedOnly: typedOnly),
                                    unsettledRequests: unsettled, wakePostman: {}, metrics: PeerMetrics(), logger: Logger(label: "test.downstream"))
        let frames = LaneBuffer<InboundFrame>()
        let running = Task { await downstream.run(frames) }

        var prepared = OutgoingPipeline.Prepared()
        let uid = "reply-json-\(UUID().uuidString)"
        await pipeline.prepare(request: ClientRequest(reference: "ref-1", command: "echo.ping", expiration: 60, data: Array("hi".utf8),
                                                      destinations: [7], replyTo: "ret-json"), uid: uid, into: &prepared)
        #expect(await pipeline.commit(prepared).isEmpty)
        let reply = try await pair.devFactory.make(OutgoingMessage(uid: uid, destination: RMBAddress(twin: 41), kind: .response,
                                                                   payload: Array("ho".utf8), expiration: 60))
        await frames.append(InboundFrame(relay: try RelayAddress(parsing: "relay.example.com"), envelope: .success(try RMBEnvelope(wire: try reply.wireBytes()))))

        // Its hand-over failed, so the record stays pending, as a crash would leave it.
        let replyKey = InboxKey(source: 7, uid: uid, kind: .response)
        let patience = ContinuousClock.now + .seconds(10)
        var record: InboxPending?
        while record == nil, ContinuousClock.now < patience {
            record = try store.inbox.pending(limit: 100).first { $0.key == replyKey }
            if record == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        let pending = try #require(record)
        #expect(pending.payload.isEmpty == typedOnly)
        if !typedOnly {
            #expect(String(decoding: pending.payload, as: UTF8.self).contains("ref-1"), "the JSON a re-delivery pushes")
        }

        await frames.finish()
        await store.close()
        await running.value
    }

    /// A front-end whose callers live in this process and which refuses every hand-over.
    struct HoldingDelivery: LocalDelivery {
        let typedOnly: Bool
        var callersLiveInProcess: Bool { true }
        var handsOverJSON: Bool { !typedOnly }
        func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver] { messages.map { _ in .failed("held by the test") } }
        func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws {}
    }

    /// Redis delivery that says its callers live in this process, as a direct peer's do.
    struct InProcessCallers: LocalDelivery {
        let redis: RedisDelivery
        var callersLiveInProcess: Bool { true }
        func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver] { await redis.deliver(messages) }
        func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws { try await redis.report(replies) }
    }

    /// A request committed while the store's writer is held in an earlier transaction, and its
    /// reply arriving before the request's write is readable.
    private func overtake(halfFull: Bool, callersInProcess: Bool = false) async throws {
        let fixture = try EngineFixture("send-at-apply")
        defer { fixture.tearDown() }
        let (store, client, pair) = (fixture.store, fixture.client, fixture.pair)
        if halfFull {
            // The map's high-water mark past half: 9 MiB written (and removed: the mark stays).
            let big = OutboxDraft(uid: "ballast", destination: 9, kind: .request, payload: [UInt8](repeating: 7, count: 9 << 20),
                                  deadline: StoreTime.now.adding(milliseconds: 60_000))
            let seq = try await store.outbox.enqueue(big)
            _ = try await store.outbox.remove(seqs: [seq])
        }
        #expect(store.hasAmpleRoom == !halfFull)
        let unsettled = UnsettledRequests()
        let postman = Postman.Progress()
        let pipeline = OutgoingPipeline(factory: pair.alphaFactory, store: store, postman: postman, doorbell: Doorbell(),
                                        unsettled: unsettled, logger: Logger(label: "test.pipeline"))
        let local: any LocalDelivery = callersInProcess ? InProcessCallers(redis: RedisDelivery(redis: client)) : RedisDelivery(redis: client)
        let downstream = Downstream(validator: pair.alphaValidator, factory: pair.alphaFactory, store: store, local: local,
                                    unsettledRequests: unsettled, wakePostman: {}, metrics: PeerMetrics(), logger: Logger(label: "test.downstream"))
        let frames = LaneBuffer<InboundFrame>()
        let running = Task { await downstream.run(frames) }

        // Hold the store's writer in an earlier transaction: the request's commit queues behind it.
        let reachedApply = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let holder = store.enqueue([.enqueue(OutboxDraft(uid: "holder", destination: 9, kind: .request, payload: [1],
                                                         deadline: StoreTime.now.adding(milliseconds: 60_000)))]) { _ in
            reachedApply.signal()
            release.wait()
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { reachedApply.wait(); done.resume() }
        }
        var prepared = OutgoingPipeline.Prepared()
        let uid = "overtaken-\(UUID().uuidString)"
        await pipeline.prepare(request: ClientRequest(reference: "ref-1", command: "echo.ping", expiration: 60, data: Array("hi".utf8),
                                                      destinations: [7], replyTo: "ret-overtaken"), uid: uid, into: &prepared)
        let committing = Task { await pipeline.commit(prepared) }
        while unsettled.count == 0 { await Task.yield() }

        // The reply comes back before the request's backlog entry can be read.
        let reply = try await pair.devFactory.make(OutgoingMessage(uid: uid, destination: RMBAddress(twin: 41), kind: .response,
                                                                   payload: Array("ho".utf8), expiration: 60))
        await frames.append(InboundFrame(relay: try RelayAddress(parsing: "relay.example.com"), envelope: .success(try RMBEnvelope(wire: try reply.wireBytes()))))
        let patience = ContinuousClock.now + .seconds(10)
        let reader = client.makeDedicatedConnection(label: "reader")
        defer { reader.close() }
        if callersInProcess {
            let delivered = try await reader.blocking(["BRPOP", "ret-overtaken", "10"], blockTimeout: .seconds(11))
            #expect(delivered.array?.count == 2, "delivered while the request's write still waits behind the held one")
            #expect(unsettled.waiting == 0 && unsettled.count == 1)
        } else {
            while unsettled.waiting == 0, ContinuousClock.now < patience { try await Task.sleep(for: .milliseconds(1)) }
            #expect(unsettled.waiting == 1, "the reply waits for its request's commit (dropped otherwise)")
            #expect(try await client.send(["LLEN", "ret-overtaken"]).integer == 0, "not delivered before its request is stored")
        }
        var early: [OutboxEntry] = []
        if !halfFull {
            while postman.handedOverCount == 0, ContinuousClock.now < patience { try await Task.sleep(for: .milliseconds(1)) }
            early = postman.takeHandedOver(limit: 10)
            #expect(early.map(\.uid) == [uid], "handed over while the request's write waits behind the held one")
            #expect(postman.confirming.snapshot() == Set(early.map(\.seq)), "kept out of outbox reads")
        } else {
            #expect(postman.handedOverCount == 0, "nothing handed over before the request's write is applied")
        }

        release.signal()
        _ = try await holder.results()
        #expect(await committing.value.isEmpty)
        if halfFull {
            early = postman.takeHandedOver(limit: 10)
            #expect(early.map(\.uid) == [uid], "the request's envelope was handed to the postman once applied")
        }
        // The store holds the entry under the number the postman was given.
        let stored = try store.outbox.due(now: StoreTime.now.adding(milliseconds: 1_000), limit: 10).filter { $0.uid == uid }
        #expect(stored.map(\.seq) == early.map(\.seq) && stored.map(\.payload) == early.map(\.payload))
        if !callersInProcess {
            let delivered = try await reader.blocking(["BRPOP", "ret-overtaken", "10"], blockTimeout: .seconds(11))
            #expect(delivered.array?.count == 2, "the reply is delivered once its request is stored")
        }
        #expect(unsettled.count == 0)
        // The reply's record came after the request's: the reply is in the inbox, delivered once.
        let replyKey = InboxKey(source: 7, uid: uid, kind: .response)
        let patienceForRecord = ContinuousClock.now + .seconds(10)
        while try !store.inbox.containsAny([replyKey]), ContinuousClock.now < patienceForRecord { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try store.inbox.containsAny([replyKey]))
        #expect(try await client.send(["LLEN", "ret-overtaken"]).integer == 0, "delivered once")

        await frames.finish()
        await store.close()
        await running.value
    }

    @Test("a reply read just as its request's commit ends is delivered, not dropped (the commit ended between the backlog read and the look at what is in flight)")
    func aReplyRacingTheEndOfItsRequestsCommitIsDelivered() async throws {
        let fixture = try EngineFixture("raced")
        defer { fixture.tearDown() }
        let (store, client, pair) = (fixture.store, fixture.client, fixture.pair)
        let unsettled = UnsettledRequests()
        let uid = "raced-\(UUID().uuidString)"
        let entry = BacklogEntry(uid: uid, reference: "ref-raced", replyTo: "ret-raced", destinations: [7],
                                 deadline: StoreTime.now.adding(milliseconds: 60_000))
        unsettled.begin([entry])
        _ = try await store.commit([.putBacklog(entry)])
        let firstRead = Mutex(true)
        var downstream = Downstream(validator: pair.alphaValidator, factory: pair.alphaFactory, store: store, local: RedisDelivery(redis: client),
                                    unsettledRequests: unsettled, wakePostman: {}, metrics: PeerMetrics(), logger: Logger(label: "test.downstream"))
        downstream.readBacklog = { uid in
            // The first read's snapshot predates the request's commit, which ends right after it.
            if firstRead.withLock({ first in defer { first = false }; return first }) {
                unsettled.end([uid])
                return nil
            }
            return try store.backlog.get(uid: uid)
        }
        let frames = LaneBuffer<InboundFrame>()
        let running = Task { [downstream] in await downstream.run(frames) }
        let reply = try await pair.devFactory.make(OutgoingMessage(uid: uid, destination: RMBAddress(twin: 41), kind: .response,
                                                                   payload: Array("ho".utf8), expiration: 60))
        await frames.append(InboundFrame(relay: try RelayAddress(parsing: "relay.example.com"), envelope: .success(try RMBEnvelope(wire: try reply.wireBytes()))))
        let reader = client.makeDedicatedConnection(label: "reader")
        defer { reader.close() }
        let delivered = try await reader.blocking(["BRPOP", "ret-raced", "10"], blockTimeout: .seconds(11))
        #expect(delivered.array?.count == 2, "delivered (it was dropped as a reply without a live request)")
        await frames.finish()
        await store.close()
        await running.value
    }

    @Test("a uid with no commit in flight is not waited for; one in two commits is settled after both")
    func unsettledRequestsCountCommits() async throws {
        let unsettled = UnsettledRequests()
        #expect(await unsettled.waitIfUnsettled("none") == false)
        let entry = BacklogEntry(uid: "u", reference: "r", replyTo: "ret", destinations: [7], deadline: StoreTime.now.adding(milliseconds: 60_000))
        unsettled.begin([entry, entry])
        #expect(unsettled.entry("u") == entry && unsettled.entry("none") == nil)
        let waiting = Task { await unsettled.waitIfUnsettled("u") }
        while unsettled.waiting == 0 { await Task.yield() }
        unsettled.end(["u"])
        #expect(unsettled.count == 1 && unsettled.waiting == 1, "one of its two commits is still in flight")
        unsettled.end(["u"])
        #expect(await waiting.value == true)
        #expect(unsettled.count == 0)
    }
}
