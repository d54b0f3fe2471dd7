import Foundation
import RMBTestSupport
import Testing
@testable import RedisClient

@Suite(.timeLimit(.minutes(1))) struct RedisClientTests {
    @Test func sendAndPipeline() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 2)
        defer { redis.close() }
        #expect(try await redis.send("PING") == .status("PONG"))
        let json = Array(#"{"ver":1,"dat":"aGk="}"#.utf8) + [0]
        let replies = try await redis.pipeline([["LPUSH", "msgbus.testme", .bytes(json)], ["LTRIM", "msgbus.testme", 0, 9999]])
        #expect(replies == [.integer(1), .status("OK")])
        #expect(try await redis.send("RPOP", "msgbus.testme") == .bulk(json))
        let many = try await redis.pipeline((0..<1000).map { ["SET", "key\($0)", .integer($0)] })
        #expect(many.count == 1000 && many.allSatisfy(\.isOK))
        #expect(try await redis.send("DBSIZE") == .integer(1000))
    }

    @Test func concurrentSendsFromHundredTasks() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url)
        defer { redis.close() }
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<100 {
                group.addTask {
                    _ = try await redis.send("INCR", "counter")
                    _ = try await redis.send("SET", "task:\(task)", .bytes([UInt8(task), 0, UInt8(task)]))
                    let back = try await redis.send("GET", "task:\(task)")
                    return back == .bulk([UInt8(task), 0, UInt8(task)]) ? 0 : 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        #expect(try await redis.send("GET", "counter").integer == 100)
    }

    @Test func brpopTimeoutReturnsNullAndBlmoveMoves() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url)
        let intake = redis.makeDedicatedConnection(label: "intake")
        defer { intake.close(); redis.close() }
        let start = ContinuousClock.now
        let empty = try await intake.blocking(["BRPOP", "msgbus.system.local", "msgbus.system.reply", 1], blockTimeout: .seconds(1))
        #expect(empty == .null)
        #expect(ContinuousClock.now - start >= .milliseconds(900))

        _ = try await redis.send("LPUSH", "msgbus.system.local", "m1")
        let moved = try await intake.blocking(
            ["BLMOVE", "msgbus.system.local", "processing", "RIGHT", "LEFT", 1], blockTimeout: .seconds(1))
        #expect(moved == .bulk(Array("m1".utf8)))
        #expect(try await redis.send("LRANGE", "processing", 0, -1) == .array([.bulk(Array("m1".utf8))]))

        // A blocked pop is woken by a push from another connection.
        async let popped = intake.blocking(["BRPOP", "wake", 5], blockTimeout: .seconds(5))
        try await Task.sleep(for: .milliseconds(100))
        _ = try await redis.send("LPUSH", "wake", "x")
        #expect(try await popped == .array([.bulk(Array("wake".utf8)), .bulk(Array("x".utf8))]))
    }

    /// The peer's intake round: clean-up, a wait and a take in one write; Redis runs what follows
    /// the blocking command once it returns, and every reply comes back in order.
    @Test func aPipelineWaitsOnItsBlockingCommand() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url)
        let intake = redis.makeDedicatedConnection(label: "intake")
        defer { intake.close(); redis.close() }
        _ = try await redis.send("RPUSH", "processing", "old")
        async let round = intake.blocking(pipeline: [
            ["LREM", "processing", 1, "old"],
            ["BLMOVE", "queue", "processing", "RIGHT", "LEFT", 30],
            ["LLEN", "queue"],
        ], blockTimeout: .seconds(30))
        // The clean-up runs as soon as the round reaches Redis, while the BLMOVE behind it still
        // waits (the queue is empty until the push below, so the round cannot have returned).
        // Polled, not a fixed pause: on a saturated machine the write can take longer to arrive.
        let polling = ContinuousClock.now + .seconds(20)
        var processing = try await redis.send("LRANGE", "processing", 0, -1)
        while processing != .array([]) && ContinuousClock.now < polling {
            try await Task.sleep(for: .milliseconds(20))
            processing = try await redis.send("LRANGE", "processing", 0, -1)
        }
        #expect(processing == .array([]))
        _ = try await redis.send("RPUSH", "queue", "a", "b", "c")
        let replies = try await round
        #expect(replies == [.integer(1), .bulk(Array("c".utf8)), .integer(2)])

        // A wait that times out gives null and still runs what follows.
        let quiet = try await intake.blocking(pipeline: [["BLMOVE", "empty", "processing", "RIGHT", "LEFT", 1], ["PING"]],
                                              blockTimeout: .seconds(1))
        #expect(quiet == [.null, .status("PONG")])
    }

    @Test func cancellingABlockedCallInterruptsIt() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url)
        let intake = redis.makeDedicatedConnection()
        defer { intake.close() }
        let task = Task { try await intake.blocking(["BRPOP", "never", 0], blockTimeout: nil) }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // BRPOP 0 never returns by itself; the bound is generous for a loaded two-core machine.
        #expect(ContinuousClock.now - start < .seconds(10))
        // The connection is replaced on the next call.
        #expect(try await intake.send("PING") == .status("PONG"))
    }

    @Test func serverRestartReconnectsBeforeTheNextCall() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        defer { redis.close() }
        #expect(try await redis.send("SET", "k", "v").isOK)
        try server.restart()
        // The idle connection the old server closed is noticed and replaced before the call.
        #expect(try await redis.send("GET", "k") == .null)   // new server, empty data set
        #expect(try await redis.send("SET", "k", "v2").isOK)

        // While Redis is down, calls fail with a connection error and recover afterwards.
        server.stop()
        await #expect(throws: RedisError.self) { try await redis.send("PING") }
        await #expect(throws: RedisError.self) { try await redis.send("PING") }
        try server.start()
        #expect(try await redis.send("PING") == .status("PONG"))
    }

    @Test func closedClientRefusesCalls() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        #expect(try await redis.send("PING") == .status("PONG"))
        redis.close()
        await #expect(throws: RedisError.closed) { try await redis.send("PING") }
    }
}
