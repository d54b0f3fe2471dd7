import Foundation
import RMBTestSupport
import RedisClient
import Testing
@testable import RMBRelay

/// Consumers of dead relay processes leave the federation group (every restart adds one): only
/// foreign consumers with nothing pending and idle long enough, never ours.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct FederationConsumerCleanupTests {
    private let stream: RedisArgument = .string(RelayStore.federationStream)
    private let group: RedisArgument = .string(RelayStore.federationGroup)

    /// Consumer name → pending count, from XINFO CONSUMERS.
    private func consumers(_ client: RedisClient) async throws -> [String: Int64] {
        let reply = try await client.send("XINFO", "CONSUMERS", stream, group)
        let list = (reply.array ?? []).compactMap(ConsumerInfo.init)
        return Dictionary(list.map { ($0.name, $0.pending) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func idleConsumersWithNothingPendingAreRemovedOthersAreKept() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let client = try RedisClient(url: redis.url)
        #expect(try await client.send("XGROUP", "CREATE", stream, group, "0", "MKSTREAM").errorMessage == nil)
        #expect(try await client.send("XADD", stream, "*", "msg", "not an envelope").errorMessage == nil)
        // "holding" reads the entry and keeps it pending; "idle" never read anything
        #expect(try await client.send("XREADGROUP", "GROUP", group, "holding", "COUNT", 1, "STREAMS", stream, ">").array != nil)
        #expect(try await client.send("XGROUP", "CREATECONSUMER", stream, group, "idle").integer == 1)
        try await Task.sleep(for: .milliseconds(300))

        let first = try await RelayHarness.start(redis: redis.url, twins: MemoryTwins()) {
            $0.federationReclaimIdle = .seconds(60)   // nothing is reclaimed from "holding" here
            $0.federationConsumerIdleLimit = .milliseconds(200)
            $0.federationConsumerCleanupPeriod = .milliseconds(200)
        }
        let ours = "relay-" + first.server.core.store.processID
        // Redis (7.0) creates a consumer only when a read delivers something: give ours an entry
        // (unparsable, so the worker drops it and holds nothing).
        #expect(try await client.send("XADD", stream, "*", "msg", "not an envelope either").errorMessage == nil)
        #expect(try await eventually(.seconds(10)) {
            let length = try await client.send("XLEN", stream).integer
            return try await consumers(client) == ["holding": 1, ours: 0] && length == 1
        })
        // Several more passes keep them: "holding" has a pending entry, and our own consumer is
        // idle beyond the 200 ms limit (empty reads do not reset `idle` before Redis 7.2) but is ours.
        try await Task.sleep(for: .seconds(1.5))
        let seen = try await consumers(client)
        #expect(seen == ["holding": 1, ours: 0], "\(seen)")
        await first.stop()

        // A restart with a short reclaim idle: the new process reclaims the entry (unparsable, so
        // dropped), then removes both the emptied "holding" and the previous process' consumer.
        let second = try await RelayHarness.start(redis: redis.url, twins: MemoryTwins()) {
            $0.federationReclaimIdle = .milliseconds(300)
            $0.federationConsumerIdleLimit = .milliseconds(200)
            $0.federationConsumerCleanupPeriod = .milliseconds(200)
        }
        let theirs = "relay-" + second.server.core.store.processID
        #expect(try await eventually(.seconds(10)) { try await consumers(client) == [theirs: 0] })
        #expect(try await client.send("XLEN", stream).integer == 0)
        await second.stop()
    }

    @Test func consumerInfoParsesFlatPairsAndSkipsOtherShapes() {
        func bulk(_ text: String) -> RedisReply { .bulk(Array(text.utf8)) }
        let v7 = RedisReply.array([bulk("name"), bulk("relay-a"), bulk("pending"), .integer(2), bulk("idle"), .integer(9000),
                                   bulk("inactive"), .integer(-1)])
        #expect(ConsumerInfo(v7) == ConsumerInfo(name: "relay-a", pending: 2, idle: 9000))
        #expect(ConsumerInfo(.array([bulk("name"), bulk("x"), bulk("idle"), .integer(5)])) == nil)          // no pending
        #expect(ConsumerInfo(.array([bulk("name"), bulk("x"), bulk("pending"), .integer(0), bulk("idle")])) == nil)  // odd
        #expect(ConsumerInfo(.array([bulk("name"), .integer(1), bulk("pending"), .integer(0), bulk("idle"), .integer(1)])) == nil)
        #expect(ConsumerInfo(.array([bulk("name"), bulk("x"), bulk("pending"), .array([]), bulk("idle"), .integer(1)])) == nil)
        #expect(ConsumerInfo(bulk("name")) == nil)
        #expect(ConsumerInfo(.null) == nil)
        #expect(ConsumerInfo(.error("ERR")) == nil)
    }

    @Test func consumerExpiryIsGenerousByDefault() {
        #expect(RelayConfiguration().federationConsumerExpiry == .seconds(300))
        #expect(RelayConfiguration(federationReclaimIdle: .seconds(60)).federationConsumerExpiry == .seconds(600))
        var configuration = RelayConfiguration()
        configuration.federationConsumerIdleLimit = .milliseconds(200)
        #expect(configuration.federationConsumerExpiry == .milliseconds(200))
    }
}
}
