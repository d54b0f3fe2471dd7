import Foundation
import RMBClient
import RMBProtocol
import RMBTestSupport
import RedisClient
import Testing

/// The client against a real Redis, with a fake peer on the other side of the queues.
@Suite struct RMBClientTests {
    struct Numbers: Codable, Equatable { var values: [Int] }

    private func withPeer<R>(_ answer: @escaping @Sendable (ClientRequest) async -> ClientResponse?,
                             _ body: (RMBClient, RedisServer) async throws -> R) async throws -> (R, [ClientRequest]) {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 2)
        defer { redis.close() }
        let peer = Task { await FakePeer(redis: redis, answer: answer).serve() }
        let client = try RMBClient(redisURL: server.url)
        defer { client.close() }
        let result: R
        do { result = try await body(client, server) } catch { peer.cancel(); _ = await peer.value; throw error }
        peer.cancel()
        return (result, await peer.value)
    }

    @Test func aCallSendsTheRequestOfTheRedisAPIAndDecodesTheReply() async throws {
        let (reply, seen) = try await withPeer({ FakePeer.echo($0) }) { client, _ in
            try await client.call(twin: 42, "calc.echo", Numbers(values: [1, 2, 3]), as: Numbers.self, timeout: .seconds(30))
        }
        #expect(reply == Numbers(values: [1, 2, 3]))
        let request = try #require(seen.first)
        #expect(seen.count == 1)
        #expect(request.command == "calc.echo")
        #expect(request.destinations == [42])
        #expect(request.expiration == 30)
        #expect(request.schema == "application/json")
        #expect(request.replyTo.hasPrefix("msgbus.client."))
        #expect(request.reference != nil)
    }

    @Test func anErrorReplyIsARemoteErrorWithItsCodeAndSource() async throws {
        let (result, _) = try await withPeer({ request in
            ClientResponse(reference: request.reference, data: [], source: "42", schema: nil, now: 0,
                           error: JSONError(code: 403, message: "go away"))
        }) { client, _ in
            await outcome { () throws(RMBCallError) in try await client.call(twin: 42, "x", payload: [1]) }
        }
        #expect(throws: RMBCallError.remote(code: 403, message: "go away", source: "42")) { try result.get() }
    }

    @Test func noReplyIsATimeoutAndALateReplyIsDropped() async throws {
        let late = Unanswered()
        let (result, _) = try await withPeer({ request in await late.add(request); return nil }) { client, server in
            let timedOut = await outcome { () throws(RMBCallError) in try await client.call(twin: 7, "slow", payload: [], timeout: .milliseconds(300)) }
            // The reply after the timeout reaches nobody and breaks nothing: the next call works.
            let redis = try RedisClient(url: server.url, poolSize: 1)
            defer { redis.close() }
            for request in await late.requests {
                _ = try await redis.send(["LPUSH", .string(request.replyTo), .bytes(FakePeer.echo(request).jsonBytes())])
            }
            return timedOut
        }
        #expect(throws: RMBCallError.timeout(.milliseconds(300))) { try result.get() }
    }

    @Test func aCancelledCallEndsAtOnce() async throws {
        let (result, _) = try await withPeer({ _ in nil }) { client, _ in
            let call = Task { await outcome { () throws(RMBCallError) in try await client.call(twin: 7, "never", payload: [], timeout: .seconds(600)) } }
            try await Task.sleep(for: .milliseconds(100))
            call.cancel()
            return await call.value
        }
        #expect(throws: RMBCallError.cancelled) { try result.get() }
    }

    @Test func thousandsOfConcurrentCallsOnOneClientEachGetTheirOwnReply() async throws {
        let count = 2_000
        // Answers in a shuffled order: matching is by reference, not by arrival.
        let (mismatches, seen) = try await withPeer({ request in
            try? await Task.sleep(for: .microseconds(Int.random(in: 0...200)))
            return FakePeer.echo(request)
        }) { client, _ in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let reply: Numbers = try await client.call(twin: UInt32(index % 5 + 1), "echo", Numbers(values: [index]), timeout: .seconds(60))
                        return reply.values == [index]
                    }
                }
                var mismatches = 0
                for try await matched in group where !matched { mismatches += 1 }
                return mismatches
            }
        }
        #expect(mismatches == 0)
        #expect(seen.count == count)
        #expect(Set(seen.map(\.replyTo)).count == 1)
    }

    @Test func aMultiTwinCallReturnsEachTwinsOutcome() async throws {
        let (results, seen) = try await withPeer({ request in
            if request.destinations == [2] {
                return ClientResponse(reference: request.reference, data: [], source: "", schema: nil, now: 0,
                                      error: JSONError(code: 103, message: "twin not found"))
            }
            return FakePeer.echo(request)
        }) { client, _ in
            try await client.call(twins: [1, 2, 3], "echo", Numbers(values: [9]), as: Numbers.self, timeout: .seconds(30))
        }
        #expect(results.count == 3)
        #expect(try results[1]?.get() == Numbers(values: [9]))
        #expect(try results[3]?.get() == Numbers(values: [9]))
        #expect(throws: RMBCallError.remote(code: 103, message: "twin not found", source: "")) { try results[2]?.get() }
        #expect(seen.count == 3)
        #expect(Set(seen.compactMap(\.reference)).count == 3)
    }

    @Test func anUndecodableReplyIsADecodingError() async throws {
        let (result, _) = try await withPeer({ request in
            ClientResponse(reference: request.reference, data: Array("not json".utf8), source: "5", schema: nil, now: 0, error: nil)
        }) { client, _ in
            await outcome { () throws(RMBCallError) in try await client.call(twin: 5, "x", as: Numbers.self) }
        }
        guard case .failure(.decoding) = result else {
            Issue.record("expected a decoding error, got \(result)")
            return
        }
    }

    @Test func anUnreachableRedisIsATransportError() async throws {
        // A port nothing listens on: bind one, learn it, close it.
        let server = try RedisServer.start()
        let url = server.url
        server.stop()
        let client = try RMBClient(redisURL: url)
        defer { client.close() }
        let result = await outcome { () throws(RMBCallError) in try await client.call(twin: 1, "x", payload: [], timeout: .seconds(5)) }
        guard case .failure(.transport) = result else {
            Issue.record("expected a transport error, got \(result)")
            return
        }
    }
}

/// `Result(catching:)` for an async body with a typed error.
func outcome<T>(_ body: () async throws(RMBCallError) -> T) async -> Result<T, RMBCallError> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// Requests the fake peer left unanswered.
actor Unanswered {
    private(set) var requests: [ClientRequest] = []
    func add(_ request: ClientRequest) { requests.append(request) }
}
