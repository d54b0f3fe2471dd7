import Foundation
import RMBTestSupport
import Testing
@testable import RedisClient

/// How calls fail and recover: a killed server, a command timeout, a cancelled wait, and the
/// login (AUTH, SELECT) every new connection runs first.
@Suite(.timeLimit(.minutes(1))) struct RedisFailureTests {
    @Test func killedServerFailsTheCallsInFlightAndTheNextCallSucceeds() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        defer { redis.close() }
        #expect(try await redis.send("PING") == .status("PONG"))
        // Calls in flight: blocked pops that only the crash can end.
        let inFlight = (0..<20).map { index in
            Task { try await redis.send("BLPOP", "never:\(index)", 30) }
        }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        server.kill()
        for call in inFlight {
            await #expect(throws: RedisError.self) { try await call.value }
        }
        // Well before the pops' own 30 s: the crash ended them (generous for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(10))
        try server.start()
        #expect(try await redis.send("PING") == .status("PONG"))
        #expect(try await redis.send("SET", "after", "restart").isOK)
    }

    @Test func commandTimeoutFailsTheCallAndTheNextCallWorks() async throws {
        let server = try RedisServer.start(options: ["--enable-debug-command", "yes"])
        defer { server.stop() }
        let redis = RedisClient(configuration: .init(
            endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port), poolSize: 1, commandTimeout: .milliseconds(200)))
        defer { redis.close() }
        #expect(try await redis.send("PING") == .status("PONG"))
        let start = ContinuousClock.now
        await #expect(throws: RedisError.timeout) { try await redis.send("DEBUG", "SLEEP", 1) }
        #expect(ContinuousClock.now - start < .milliseconds(900))
        // A new connection; its PING waits for the sleep to end on the server, then works.
        try await Task.sleep(for: .seconds(1))
        #expect(try await redis.send("PING") == .status("PONG"))
    }

    @Test func cancellingABlockedPopReturnsPromptly() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        defer { redis.close() }
        let intake = redis.makeDedicatedConnection(label: "intake")
        defer { intake.close() }
        let waiting = Task { try await intake.blocking(["BRPOP", "never", 30], blockTimeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        // BRPOP 30 would end by itself after 30 s; the bound is generous for a loaded two-core machine.
        #expect(ContinuousClock.now - start < .seconds(10))
        // The pooled connection was not touched; the dedicated one reconnects.
        #expect(try await redis.send("PING") == .status("PONG"))
        #expect(try await intake.blocking(["BRPOP", "never", "0.1"], blockTimeout: .milliseconds(100)) == .null)
        // A task cancelled before the call never sends it.
        let early = Task {
            try await Task.sleep(for: .milliseconds(50))
            return try await intake.blocking(["BLMOVE", "src", "dst", "RIGHT", "LEFT", 5], blockTimeout: .seconds(5))
        }
        early.cancel()
        await #expect(throws: CancellationError.self) { try await early.value }
    }

    @Test func authAndSelectRunBeforeTheFirstCommand() async throws {
        let server = try RedisServer.start(options: ["--requirepass", "s3cret"])
        defer { server.stop() }
        let base = "redis://:s3cret@127.0.0.1:\(server.port)"
        let db3 = try RedisClient(url: base + "/3", poolSize: 2)
        defer { db3.close() }
        #expect(try await db3.send("SET", "where", "three").isOK)
        #expect(try await db3.send("CLIENT", "INFO").string?.contains("db=3") == true)
        let db0 = try RedisClient(url: base, poolSize: 1)
        defer { db0.close() }
        #expect(try await db0.send("GET", "where") == .null)
        #expect(try await db0.send("SELECT", 3).isOK)
        #expect(try await db0.send("GET", "where") == .bulk(Array("three".utf8)))

        // A named ACL user.
        #expect(try await db0.send("ACL", "SETUSER", "alice", "on", ">pw", "~*", "&*", "+@all").isOK)
        let alice = try RedisClient(url: "redis://alice:pw@127.0.0.1:\(server.port)/3", poolSize: 1)
        defer { alice.close() }
        #expect(try await alice.send("ACL", "WHOAMI") == .bulk(Array("alice".utf8)))
        #expect(try await alice.send("GET", "where") == .bulk(Array("three".utf8)))

        // Wrong password, no password, bad database: connection failures naming the step.
        for (url, step) in [(base.replacingOccurrences(of: "s3cret", with: "wrong"), "AUTH"), ("redis://127.0.0.1:\(server.port)/1", "SELECT"), (base + "/99", "SELECT")] {
            let client = try RedisClient(url: url, poolSize: 1)
            defer { client.close() }
            let error = await #expect(throws: RedisError.self) { try await client.send("PING") }
            guard case let .connectionFailed(text) = error else { Issue.record("\(url): \(String(describing: error))"); continue }
            #expect(text.contains(step), "\(url): \(text)")
        }
    }

    @Test func closeLetsQueuedCallsFinishAndRefusesLaterOnes() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        #expect(try await redis.send("PING") == .status("PONG"))
        let queued = (0..<50).map { index in Task { try await redis.send("SET", "q\(index)", "v") } }
        let slow = Task { try await redis.send("BLPOP", "never", "0.6") }
        try await Task.sleep(for: .milliseconds(300))
        redis.close()
        for call in queued { #expect(try await call.value.isOK) }
        #expect(try await slow.value == .null)
        await #expect(throws: RedisError.closed) { try await redis.send("PING") }
        await #expect(throws: RedisError.closed) { try await redis.pipeline([["PING"]]) }
    }
}
