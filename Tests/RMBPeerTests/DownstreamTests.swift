import Foundation
import Logging
import RMBProtocol
import RMBTestSupport
import RedisClient
import Redundancy
import Store
import Testing
import TwinDirectory
@testable import RMBEngine
@testable import RMBPeer

/// The downstream path in process: envelopes fed as relay frames, a real Redis and a real store.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct DownstreamTests {
    /// A received envelope's inbox record must not cost an fsync of its own (nor keep the reply's
    /// commit waiting behind it): it is queued as a deferrable write that the next commit
    /// carries. The store's defer limit is long here, so only an urgent record could be
    /// committed before the test's own write.
    @Test("a new envelope is pushed at once and its inbox record rides with the next commit")
    func aNewEnvelopesRecordRidesWithTheNextCommit() async throws {
        let fixture = try EngineFixture("downstream", deferLimit: .seconds(30))
        defer { fixture.tearDown() }
        let (store, client, pair) = (fixture.store, fixture.client, fixture.pair)
        let downstream = Downstream(validator: pair.alphaValidator, factory: pair.alphaFactory, store: store, local: RedisDelivery(redis: client),
                                    unsettledRequests: UnsettledRequests(), wakePostman: {}, metrics: PeerMetrics(), logger: Logger(label: "test.downstream"))
        let frames = LaneBuffer<InboundFrame>()
        let running = Task { await downstream.run(frames) }
        let relay = try RelayAddress(parsing: "relay.example.com")

        let before = try store.stats().commits
        let envelope = try await pair.devFactory.make(PeerCoreTests.request("ride along"))
        await frames.append(InboundFrame(relay: relay, envelope: .success(try RMBEnvelope(wire: try envelope.wireBytes()))))
        let service = client.makeDedicatedConnection(label: "service")
        defer { service.close() }
        let pushed = try await service.blocking(["BRPOP", "msgbus.echo.ping", "10"], blockTimeout: .seconds(11))
        #expect(pushed.array?.count == 2, "the request reaches its service")

        let key = InboxKey(source: 7, uid: envelope.uid, kind: .request)
        #expect(try store.inbox.state(key) == nil, "not committed alone")
        #expect(try store.stats().commits == before)
        // The next urgent write carries the record.
        _ = try await store.outbox.enqueue(OutboxDraft(uid: "next", destination: 7, kind: .request, payload: [1],
                                                        deadline: StoreTime.now.adding(milliseconds: 60_000)))
        #expect(try store.stats().commits - before == 1)
        #expect(try store.inbox.state(key) != nil)

        await frames.finish()
        // Closing commits what still waits for company (the delivery mark), so the run ends.
        await store.close()
        await running.value
    }
}
