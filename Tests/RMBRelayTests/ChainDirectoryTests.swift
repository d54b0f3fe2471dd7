import Foundation
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import SubstrateRPC
import SubstrateTestSupport
import TFChain
import Testing
@testable import RMBRelay

/// The relay on a tfchain twin directory (scripted node): JWTs checked against twins read from
/// chain storage, and the twin cache refreshed by finalized-block events.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct ChainDirectoryTests {
    @Test func twinsComeFromTheChainAndEventsRefreshTheCache() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let fake = FakeTFChain()
        try fake.storeVectorTwins()           // dev = twin 7, alpha = 41, beta = 55
        let node = try await fake.start()
        let chain = TFChainClient(rpc: SubstrateRPCClient(urls: [node.url], attemptTimeout: .seconds(15)))
        let relay = try await RelayHarness.start(redis: redis.url, twins: chain.directory)
        let port = relay.port

        // A twin on chain connects; one that is not gets the reference's 401.
        var peer = try await TestPeer.connect("ws://127.0.0.1:\(port)/", token: try TestIdentity.dev.token())
        await peer.close()
        let stranger = try RelayToken.make(identity: TestIdentity.dev.identity, twin: 99)
        let refused = try await RawHTTP.upgrade(port: port, target: "/?" + stranger)
        #expect(refused.status == 401 && refused.body == "twin not found 99")
        let readsAfterFirstLookups = node.requests("state_getStorage").count

        // Cached: no new chain read.
        peer = try await TestPeer.connect("ws://127.0.0.1:\(port)/", token: try TestIdentity.dev.token(sid: "a"))
        await peer.close()
        #expect(node.requests("state_getStorage").count == readsAfterFirstLookups)

        // TwinDeleted → the next lookup reads the chain again.
        relay.server.apply(.deleted(TestIdentity.dev.twin))
        peer = try await TestPeer.connect("ws://127.0.0.1:\(port)/", token: try TestIdentity.dev.token(sid: "b"))
        await peer.close()
        #expect(node.requests("state_getStorage").count == readsAfterFirstLookups + 1)

        // A flush, then a finalized TwinUpdated(7) from the follower refills the entry.
        relay.server.apply(.flushAll)
        let events = try FakeTFChain.twinUpdatedEvents()
        fake.with { state in
            state.finalizedHeads = [201]
            state.eventsByBlock[FakeTFChain.blockHash(201)] = events
        }
        let follower = Task {
            try? await TwinEventService(follower: TwinEventFollower(client: chain), server: relay.server).run()
        }
        // Wait until the event's twin is in the cache (the follower read block 201's events).
        let deadline = ContinuousClock.now + .seconds(30)
        while relay.server.core.twins.peek(id: TestIdentity.dev.twin) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let cached = relay.server.core.twins.peek(id: TestIdentity.dev.twin)
        #expect(cached??.relays.map(\.host) == ["relay.example.com"], "the finalized TwinUpdated should fill the cache")
        let readsAfterEvent = node.requests("state_getStorage").count   // includes the events read
        peer = try await TestPeer.connect("ws://127.0.0.1:\(port)/", token: try TestIdentity.dev.token(sid: "c"))
        await peer.close()
        #expect(node.requests("state_getStorage").count == readsAfterEvent, "twin 7 should come from the event, not a chain read")
        follower.cancel()
        await follower.value
        await relay.stop()
        await chain.close()
        await node.stop()
    }
}
}
