import Foundation
import RMBTestSupport
import Testing
@testable import RedisClient

/// Many tasks share one connection: each call must get its own reply, and a pipeline must reach
/// the server in one piece.
@Suite(.timeLimit(.minutes(1))) struct RedisMultiplexingTests {
    @Test func twoThousandConcurrentTasksOnOneConnectionGetTheirOwnReplies() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        defer { redis.close() }
        let wrong = try await withThrowingTaskGroup(of: [String].self) { group in
            for task in 0..<2000 {
                group.addTask {
                    var wrong: [String] = []
                    let incremented = try await redis.send("INCRBY", "n:\(task)", .integer(task))
                    if incremented != .integer(Int64(task)) { wrong.append("INCRBY \(task) → \(incremented)") }
                    let value = RedisArgument.bytes(Array("v\(task)".utf8) + [0, UInt8(task % 256)])
                    _ = try await redis.send("SET", "k:\(task)", value)
                    let back = try await redis.send("GET", "k:\(task)")
                    if back != .bulk(value.bytes) { wrong.append("GET \(task) → \(back)") }
                    let counter = try await redis.send("GET", "n:\(task)")
                    if counter.integer != Int64(task) { wrong.append("GET n:\(task) → \(counter)") }
                    return wrong
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(try await redis.send("DBSIZE") == .integer(4000))
    }

    @Test func concurrentMultiExecPipelinesStayContiguous() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        defer { redis.close() }
        // Transactions interleaved with single commands from other tasks: a command landing
        // inside someone's MULTI … EXEC would be queued there and change that EXEC's reply.
        let wrong = try await withThrowingTaskGroup(of: [String].self) { group in
            for task in 0..<300 {
                group.addTask {
                    let replies = try await redis.pipeline([
                        ["MULTI"],
                        ["INCR", "tx:\(task)"],
                        ["LPUSH", "list:\(task)", "a", "b"],
                        ["LTRIM", "list:\(task)", 0, 0],
                        ["EXEC"],
                    ])
                    let expected: [RedisReply] = [
                        .status("OK"), .status("QUEUED"), .status("QUEUED"), .status("QUEUED"),
                        .array([.integer(1), .integer(2), .status("OK")]),
                    ]
                    return replies == expected ? [] : ["tx \(task): \(replies)"]
                }
                group.addTask {
                    let reply = try await redis.send("SET", "plain:\(task)", "x")
                    return reply.isOK ? [] : ["plain \(task): \(reply)"]
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(try await redis.send("LRANGE", "list:7", 0, -1) == .array([.bulk(Array("b".utf8))]))
    }

    @Test func poolSpreadsCallsAndKeepsEachTasksOrder() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 4)
        defer { redis.close() }
        // One task's commands in sequence stay in order even if they use different connections.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<20 {
                group.addTask {
                    for step in 0..<50 { _ = try await redis.send("RPUSH", "seq:\(task)", .integer(step)) }
                }
            }
            try await group.waitForAll()
        }
        for task in 0..<20 {
            let list = try await redis.send("LRANGE", "seq:\(task)", 0, -1)
            #expect(list == .array((0..<50).map { .bulk(Array("\($0)".utf8)) }))
        }
        let clients = try await redis.send("CLIENT", "LIST").string ?? ""
        #expect(clients.split(separator: "\n").count <= 4)
    }

    @Test func balancerPrefersTheCallersLoopThenTheLeastBusyThenTheFirst() {
        final class Loop {}
        let a = Loop(), b = Loop(), elsewhere = Loop()
        let balancer = LoadBalancer(loops: [a, b, a, b].map(ObjectIdentifier.init))
        // A lone caller off the loops keeps the first connection.
        for _ in 0..<3 {
            let index = balancer.acquire(on: nil)
            #expect(index == 0)
            balancer.release(index)
        }
        // Concurrent callers spread over the least busy.
        #expect((0..<4).map { _ in balancer.acquire(on: nil) } == [0, 1, 2, 3])
        #expect(balancer.acquire(on: nil) == 0)
        for index in [0, 0, 1, 2, 3] { balancer.release(index) }
        // A caller on loop b stays on b's connections; an unknown loop counts as none.
        #expect(balancer.acquire(on: ObjectIdentifier(b)) == 1)
        #expect(balancer.acquire(on: ObjectIdentifier(b)) == 3)
        #expect(balancer.acquire(on: ObjectIdentifier(b)) == 1)
        #expect(balancer.acquire(on: ObjectIdentifier(elsewhere)) == 0)
    }
}
