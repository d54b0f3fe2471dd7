import Foundation
import RMBTestSupport
import Testing
@testable import RedisClient

/// One NIO connection, without the reconnecting layer: reply types, binary safety, pipelines,
/// and how it ends (timeout, server restart, close).
@Suite(.timeLimit(.minutes(1))) struct RedisConnectionTests {
    @Test func replyTypes() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url))
        defer { connection.close() }
        #expect(try await connection.command(["PING"]) == .status("PONG"))
        #expect(try await connection.command(["SET", "k", "v"]).isOK)
        #expect(try await connection.command(["GET", "k"]) == .bulk(Array("v".utf8)))
        #expect(try await connection.command(["GET", "k"]).string == "v")
        #expect(try await connection.command(["GET", "missing"]) == .null)
        #expect(try await connection.command(["INCRBY", "n", 41]) == .integer(41))
        #expect(try await connection.command(["INCR", "n"]).integer == 42)
        #expect(try await connection.command(["GET", "n"]).integer == 42)
        #expect(try await connection.command(["RPUSH", "list", "a", "b", ""]) == .integer(3))
        #expect(try await connection.command(["LRANGE", "list", 0, -1]) == .array([.bulk([97]), .bulk([98]), .bulk([])]))
        #expect(try await connection.command(["LRANGE", "nolist", 0, -1]) == .array([]))
        let error = try await connection.command(["LPUSH", "k", "x"])   // WRONGTYPE
        #expect(error.errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(throws: RedisError.self) { try error.checked() }
        #expect(try await connection.command(["SETEX", "backlog.u1", 300, "x"]).isOK)
        #expect(try await connection.command(["TTL", "backlog.u1"]).integer ?? 0 > 290)
    }

    @Test func binarySafeValuesAndKeys() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url))
        defer { connection.close() }
        let value = (0...255).map { UInt8($0) } + [0, 0, 13, 10, 0]
        let key: [UInt8] = [0, 0xFF, 0, 10, 13]
        #expect(try await connection.command(["SET", .bytes(key), .bytes(value)]).isOK)
        #expect(try await connection.command(["GET", .bytes(key)]) == .bulk(value))
        #expect(try await connection.command(["STRLEN", .bytes(key)]) == .integer(Int64(value.count)))
        #expect(try await connection.command(["SET", "empty", .bytes([])]).isOK)
        #expect(try await connection.command(["GET", "empty"]) == .bulk([]))
        // Large values cross many TCP reads and writes (lengths with several digits).
        let large = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try await connection.command(["SET", "large", .bytes(large)]).isOK)
        #expect(try await connection.command(["GET", "large"]) == .bulk(large))
    }

    @Test func errorReplyKeepsConnectionUsable() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url))
        defer { connection.close() }
        let reply = try await connection.command(["NOSUCHCOMMAND", "x"])
        #expect(reply.errorMessage?.contains("unknown command") == true)
        #expect(connection.isUsable)
        #expect(try await connection.command(["PING"]) == .status("PONG"))
        await #expect(throws: RedisError.invalidArgument("empty command")) { try await connection.command([]) }
        await #expect(throws: RedisError.invalidArgument("empty command in pipeline")) {
            try await connection.pipeline([["PING"], []])
        }
        #expect(try await connection.command(["PING"]) == .status("PONG"))
    }

    @Test func pipelineOfThousandCommands() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url))
        defer { connection.close() }
        let commands: [[RedisArgument]] = (1...1000).map { ["RPUSH", "q", .integer($0)] }
        let replies = try await connection.pipeline(commands)
        #expect(replies == (1...1000).map { .integer(Int64($0)) })
        // An error in the middle of a pipeline only takes its own slot.
        let mixed = try await connection.pipeline([["LLEN", "q"], ["GET", "q"], ["LINDEX", "q", 999]])
        #expect(mixed.count == 3)
        #expect(mixed[0] == .integer(1000))
        #expect(mixed[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(mixed[2] == .bulk(Array("1000".utf8)))
        #expect(try await connection.pipeline([]) == [])
    }

    @Test func multiExecAndStreams() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url))
        defer { connection.close() }
        let envelope: [UInt8] = [0x0A, 0, 0x12, 0xFF]
        let replies = try await connection.pipeline([
            ["MULTI"],
            ["XADD", "stream:7", "MAXLEN", "~", 10000, "*", "_", .bytes(envelope)],
            ["EXPIRE", "stream:7", 3600],
            ["EXEC"],
        ])
        #expect(replies[0].isOK)
        #expect(replies[1] == .status("QUEUED"))
        guard let exec = replies[3].array, exec.count == 2, let id = exec[0].bytes else {
            Issue.record("unexpected EXEC reply \(replies[3])")
            return
        }
        #expect(exec[1] == .integer(1))
        let read = try await connection.blockingCommand(
            ["XREAD", "COUNT", 100, "BLOCK", 2000, "STREAMS", "stream:7", "0-0"], blockTimeout: .seconds(2))
        #expect(read == .array([.array([.bulk(Array("stream:7".utf8)), .array([.array([.bulk(id), .array([.bulk([95]), .bulk(envelope)])])])])]))
        #expect(try await connection.command(["XDEL", "stream:7", .bytes(id)]) == .integer(1))
    }

    @Test func timeoutEndsConnection() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url), commandTimeout: .milliseconds(500))
        defer { connection.close() }
        let start = ContinuousClock.now
        let blocked = Task { try await connection.command(["BLPOP", "nothing", 30]) }
        try await Task.sleep(for: .milliseconds(100))
        // The PING behind the timed-out BLPOP would be matched to the wrong reply: it fails too
        // (`.io`, or `RedisNotSent` should a slow machine send it after the timeout).
        await #expect(throws: (any Error).self) { try await connection.command(["PING"]) }
        await #expect(throws: RedisError.timeout) { try await blocked.value }
        // The 500-ms command timeout, not the pop's own 30 s (generous for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(!connection.isUsable)
        await #expect(throws: RedisNotSent.self) { try await connection.command(["PING"]) }
    }

    @Test func refusedConnectionIsAConnectionFailure() async throws {
        let port = try freeLoopbackPort()
        let error = await #expect(throws: RedisError.self) {
            try await RedisConnection.connect(endpoint: RedisEndpoint(host: "127.0.0.1", port: port))
        }
        guard case let .connectionFailed(text) = error else { Issue.record("unexpected \(String(describing: error))"); return }
        #expect(text.lowercased().contains("refused"), "\(text)")
    }

    @Test func hostNamesResolve() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(host: "localhost", port: server.port))
        defer { connection.close() }
        #expect(try await connection.command(["PING"]) == .status("PONG"))
    }

    @Test func serverRestartEndsThenNewConnectionWorks() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let endpoint = try RedisEndpoint(url: server.url)
        let connection = try await RedisConnection.connect(endpoint: endpoint)
        #expect(try await connection.command(["PING"]) == .status("PONG"))
        try server.restart()
        await #expect(throws: (any Error).self) { try await connection.command(["PING"]) }
        #expect(!connection.isUsable)
        let fresh = try await RedisConnection.connect(endpoint: endpoint)
        defer { fresh.close() }
        #expect(try await fresh.command(["PING"]) == .status("PONG"))
    }

    @Test func closeWakesBlockedCall() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url))
        Task {
            try await Task.sleep(for: .milliseconds(200))
            connection.close()
        }
        let start = ContinuousClock.now
        await #expect(throws: RedisError.closed) { try await connection.blockingCommand(["BRPOP", "q", 0], blockTimeout: nil) }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func gracefulCloseLetsCallsInFlightFinish() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(url: server.url))
        let slow = Task { try await connection.blockingCommand(["BRPOP", "q", "0.6"], blockTimeout: .milliseconds(600)) }
        try await Task.sleep(for: .milliseconds(300))
        connection.close(gracefully: true)
        #expect(try await slow.value == .null)
        await #expect(throws: RedisNotSent.self) { try await connection.command(["PING"]) }
    }

    @Test func malformedReplyIsAProtocolErrorAndEndsTheConnection() async throws {
        let server = try ScriptedServer(answer: Array("?what\r\n".utf8))
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port))
        defer { connection.close() }
        let error = await #expect(throws: RedisError.self) { try await connection.command(["PING"]) }
        guard case .protocolError = error else { Issue.record("unexpected \(String(describing: error))"); return }
        #expect(!connection.isUsable)
    }

    @Test func replyWithoutACommandIsAProtocolError() async throws {
        // Two replies for one command: the second has no call to go to.
        let server = try ScriptedServer(answer: Array("+OK\r\n+EXTRA\r\n".utf8))
        let connection = try await RedisConnection.connect(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port))
        defer { connection.close() }
        #expect(try await connection.command(["PING"]) == .status("OK"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(!connection.isUsable)
    }
}
