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

/// The pipeline hands a batch's envelopes to the postman once its commit is applied, not once it
/// is durable: a reply can then come back before its request's backlog entry is readable, and
/// must wait for it rather than be dropped.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct SendAtApplyTests {
    @Test("a reply that arrives while its request's commit is in flight waits for it and is delivered")
    func aReplyOvertakingItsRequestsCommitIsDelivered() async throws {
        let redis = try RedisServer.start()
        defer { redis.stop() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-send-at-apply-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store.open(path: path, mapSize: 16 << 20)
        let client = try RedisClient(url: redis.url, poolSize: 2)
        defer { client.close() }
        let pair = try PeerCoreTests.pair(e2e: true)
        let unsettled = UnsettledRequests()
        let handedOff = Mutex<[OutboxEntry]>([])
        let pipeline = OutgoingPipeline(factory: pair.alphaFactory, store: store, handOff: { entries in handedOff.withLock { $0 += entries } },
                                        unsettled: unsettled, logger: Logger(label: "test.pipeline"))
        let downstream = Downstream(validator: pair.alphaValidator, factory: pair.alphaFactory, store: store, local: RedisDelivery(redis: client),
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
        while unsettled.waiting == 0, ContinuousClock.now < patience { try await Task.sleep(for: .milliseconds(1)) }
        #expect(unsettled.waiting == 1, "the reply waits for its request's commit (dropped otherwise)")
        #expect(try await client.send(["LLEN", "ret-overtaken"]).integer == 0, "not delivered before its request is stored")
        #expect(handedOff.withLock { $0.isEmpty }, "nothing handed over before the request's commit is applied")

        release.signal()
        _ = try await holder.results()
        #expect(await committing.value.isEmpty)
        #expect(handedOff.withLock { $0.map(\.uid) } == [uid], "the request's envelope was handed to the postman")
        let reader = client.makeDedicatedConnection(label: "reader")
        defer { reader.close() }
        let delivered = try await reader.blocking(["BRPOP", "ret-overtaken", "10"], blockTimeout: .seconds(11))
        #expect(delivered.array?.count == 2, "the reply is delivered once its request is stored")
        #expect(unsettled.count == 0)

        await frames.finish()
        await store.close()
        await running.value
    }

    @Test("a uid with no commit in flight is not waited for; one in two commits is settled after both")
    func unsettledRequestsCountCommits() async throws {
        let unsettled = UnsettledRequests()
        #expect(await unsettled.waitIfUnsettled("none") == false)
        unsettled.begin(["u", "u"])
        let waiting = Task { await unsettled.waitIfUnsettled("u") }
        while unsettled.waiting == 0 { await Task.yield() }
        unsettled.end(["u"])
        #expect(unsettled.count == 1 && unsettled.waiting == 1, "one of its two commits is still in flight")
        unsettled.end(["u"])
        #expect(await waiting.value == true)
        #expect(unsettled.count == 0)
    }
}
