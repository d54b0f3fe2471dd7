import RMBTestSupport
import RedisClient
import Testing
@testable import RMBRelay

/// The presence scripts of cross-process session replacement, against a real Redis.
@Suite(.timeLimit(.minutes(1)))
struct SessionTakeoverTests {
    private let session = SessionID(twin: 41, sid: "s")

    private func presence(_ redis: RedisClient) async throws -> String? {
        try await redis.send(["GET", .string(session.presenceKey)]).string
    }

    /// A fresh Redis and a client for one test.
    private func withRedis(_ body: (RedisClient) async throws -> Void) async throws {
        let server = try await startRedis()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        defer { redis.close() }
        try await body(redis)
    }

    /// A connection that closes after a newer connection of its session registered on the same
    /// process must leave that one's claim alone: siblings hear of later registrations only
    /// through the process the key names.
    @Test func aClosingConnectionReleasesOnlyItsOwnRegistration() async throws {
        try await withRedis { redis in
            let store = RelayStore(redis: redis, processID: "p1")
            let older = try await store.registerPresence(session, ttlSeconds: 30)
            let newer = try await store.registerPresence(session, ttlSeconds: 30)
            #expect(newer > older)
            await store.releasePresence(session, generation: older)
            #expect(try await presence(redis) == "p1", "the newer registration's claim stays")
            // The heartbeat keeps the generation with the key.
            try await store.refreshPresence([session], ttlSeconds: 30)
            await store.releasePresence(session, generation: older)
            #expect(try await presence(redis) == "p1")
            await store.releasePresence(session, generation: newer)
            #expect(try await presence(redis) == nil)
            #expect(try await redis.send(["EXISTS", .string(session.presenceGenerationKey)]).integer == 0)
        }
    }

    @Test func aClaimOfAnotherProcessIsNeverReleased() async throws {
        try await withRedis { redis in
            let here = RelayStore(redis: redis, processID: "p1")
            let sibling = RelayStore(redis: redis, processID: "p2")
            let mine = try await here.registerPresence(session, ttlSeconds: 30)
            _ = try await sibling.registerPresence(session, ttlSeconds: 30)
            await here.releasePresence(session, generation: mine)
            await here.releasePresence(session, generation: nil)
            #expect(try await presence(redis) == "p2")
            // Without a known generation (Redis failed at registration) our own key is released.
            let own = SessionID(twin: 42, sid: nil)
            _ = try await here.registerPresence(own, ttlSeconds: 30)
            await here.releasePresence(own, generation: nil)
            #expect(try await redis.send(["GET", .string(own.presenceKey)]).string == nil)
        }
    }
}
