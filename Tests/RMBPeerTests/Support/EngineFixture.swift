import Foundation
import RMBTestSupport
import RedisClient
import Store

/// What the engine's in-process tests stand on: a Redis server of their own, a store in a fresh
/// temporary directory, a client of that Redis and the dev/alpha key pair of ``PeerCoreTests``.
/// The test closes the store itself (where its shutdown order matters); ``tearDown()`` stops the
/// rest and removes the store's files.
struct EngineFixture {
    let redis: RedisServer
    let path: String
    let store: Store
    let client: RedisClient
    let pair: PeerCoreTests.Pair

    init(_ name: String, redisOptions: [String] = [], deferLimit: Duration = .milliseconds(20)) throws {
        redis = try RedisServer.start(options: redisOptions)
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-\(name)-\(UUID().uuidString)").path
        do {
            store = try Store.open(path: path, mapSize: 16 << 20, deferLimit: deferLimit)
            client = try RedisClient(url: redis.url, poolSize: 2)
            pair = try PeerCoreTests.pair(e2e: true)
        } catch {
            redis.stop()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    func tearDown() {
        client.close()
        redis.stop()
        try? FileManager.default.removeItem(atPath: path)
    }
}
