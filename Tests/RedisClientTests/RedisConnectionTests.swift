import Foundation
import RMBTestSupport
import Testing
@testable import RedisClient

@Suite(.timeLimit(.minutes(1))) struct RedisConnectionTests {
    @Test func replyTypes() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: RedisEndpoint(url: server.url))
        #expect(try connection.command(["PING"]) == .status("PONG"))
        #expect(try connection.command(["SET", "k", "v"]).isOK)
        #expect(try connection.command(["GET", "k"]) == .bulk(Array("v".utf8)))
        #expect(try connection.command(["GET", "k"]).string == "v")
        #expect(try connection.command(["GET", "missing"]) == .null)
        #expect(try connection.command(["INCRBY", "n", 41]) == .integer(41))
        #expect(try connection.command(["INCR", "n"]).integer == 42)
        #expect(try connection.command(["GET", "n"]).integer == 42)
        #expect(try connection.command(["RPUSH", "list", "a", "b", ""]) == .integer(3))
        #expect(try connection.command(["LRANGE", "list", 0, -1]) == .array([.bulk([97]), .bulk([98]), .bulk([])]))
        #expect(try connection.command(["LRANGE", "nolist", 0, -1]) == .array([]))
        let error = try connection.command(["LPUSH", "k", "x"])   // WRONGTYPE
        #expect(error.errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(throws: RedisError.self) { try error.checked() }
        #expect(try connection.command(["SETEX", "backlog.u1", 300, "x"]).isOK)
        #expect(try connection.command(["TTL", "backlog.u1"]).integer ?? 0 > 290)
    }

    @Test func binarySafeValuesAndKeys() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: RedisEndpoint(url: server.url))
        let value = (0...255).map { UInt8($0) } + [0, 0, 13, 10, 0]
        let key: [UInt8] = [0, 0xFF, 0, 10, 13]
        #expect(try connection.command(["SET", .bytes(key), .bytes(value)]).isOK)
        #expect(try connection.command(["GET", .bytes(key)]) == .bulk(value))
        #expect(try connection.command(["STRLEN", .bytes(key)]) == .integer(Int64(value.count)))
        #expect(try connection.command(["SET", "empty", .bytes([])]).isOK)
        #expect(try connection.command(["GET", "empty"]) == .bulk([]))
    }

    @Test func errorReplyKeepsConnectionUsable() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: RedisEndpoint(url: server.url))
        let reply = try connection.command(["NOSUCHCOMMAND", "x"])
        #expect(reply.errorMessage?.contains("unknown command") == true)
        #expect(!connection.isBroken)
        #expect(try connection.command(["PING"]) == .status("PONG"))
        #expect(throws: RedisError.invalidArgument("empty command")) { try connection.command([]) }
        #expect(try connection.command(["PING"]) == .status("PONG"))
    }

    @Test func pipelineOfThousandCommands() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: RedisEndpoint(url: server.url))
        let commands: [[RedisArgument]] = (1...1000).map { ["RPUSH", "q", .integer($0)] }
        let replies = try connection.pipeline(commands)
        #expect(replies == (1...1000).map { .integer(Int64($0)) })
        // An error in the middle of a pipeline only takes its own slot.
        let mixed = try connection.pipeline([["LLEN", "q"], ["GET", "q"], ["LINDEX", "q", 999]])
        #expect(mixed.count == 3)
        #expect(mixed[0] == .integer(1000))
        #expect(mixed[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(mixed[2] == .bulk(Array("1000".utf8)))
    }

    @Test func multiExecAndStreams() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: RedisEndpoint(url: server.url))
        let envelope: [UInt8] = [0x0A, 0, 0x12, 0xFF]
        let replies = try connection.pipeline([
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
        let read = try connection.blockingCommand(
            ["XREAD", "COUNT", 100, "BLOCK", 2000, "STREAMS", "stream:7", "0-0"], blockTimeout: .seconds(2))
        #expect(read == .array([.array([.bulk(Array("stream:7".utf8)), .array([.array([.bulk(id), .array([.bulk([95]), .bulk(envelope)])])])])]))
        #expect(try connection.command(["XDEL", "stream:7", .bytes(id)]) == .integer(1))
    }

    @Test func timeoutBreaksConnection() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: RedisEndpoint(url: server.url), commandTimeout: .milliseconds(200))
        #expect(throws: RedisError.timeout) { try connection.command(["BLPOP", "nothing", 5]) }
        #expect(connection.isBroken)
        #expect(throws: RedisError.closed) { try connection.command(["PING"]) }
    }

    @Test func refusedConnectionIsAConnectionFailure() throws {
        let port = try freeLoopbackPort()
        let error = #expect(throws: RedisError.self) {
            try RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: port))
        }
        guard case let .connectionFailed(text) = error else { Issue.record("unexpected \(String(describing: error))"); return }
        #expect(text.contains("refused"))
    }

    @Test func serverRestartBreaksThenNewConnectionWorks() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let endpoint = try RedisEndpoint(url: server.url)
        let connection = try RedisConnection(endpoint: endpoint)
        #expect(try connection.command(["PING"]) == .status("PONG"))
        try server.restart()
        #expect(throws: RedisError.self) { try connection.command(["PING"]) }
        #expect(connection.isBroken)
        let fresh = try RedisConnection(endpoint: endpoint)
        #expect(try fresh.command(["PING"]) == .status("PONG"))
    }

    @Test func interruptWakesBlockedCall() throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: RedisEndpoint(url: server.url))
        let handle = connection.interruptHandle
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { handle.interrupt() }
        let start = ContinuousClock.now
        #expect(throws: RedisError.closed) { try connection.blockingCommand(["BRPOP", "q", 0], blockTimeout: nil) }
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
