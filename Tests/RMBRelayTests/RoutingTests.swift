import RedisClient
import Foundation
import NIOWebSocket
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import Testing
@testable import RMBRelay

extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct RoutingTests {
    /// dev and alpha both on one relay.
    private func setUp() async throws -> (RedisServer, RelayHarness, MemoryTwins) {
        let redis = try await startRedis()
        let twins = MemoryTwins()
        let port = try freeLoopbackPort()
        twins.set(.dev, relays: ["127.0.0.1:\(port)"])
        twins.set(.alpha, relays: ["127.0.0.1:\(port)"])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port)
        return (redis, relay, twins)
    }

    @Test func localDeliveryBothWays() async throws {
        let (redis, relay, _) = try await setUp()
        defer { redis.stop() }
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let alpha = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        let request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: "ping alpha")
        try dev.send(request)
        let got = try await alpha.next()
        #expect(got == request)
        let answer = try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.dev.twin), payload: "hi dev")
        try alpha.send(answer)
        #expect(try await dev.next() == answer)
        await dev.close(); await alpha.close(); await relay.stop()
    }

    @Test func offlineQueueIsDeliveredInOrderOnConnect() async throws {
        let (redis, relay, _) = try await setUp()
        defer { redis.stop() }
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        var sent: [RMBEnvelope] = []
        for index in 0..<250 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: "m\(index)")
            sent.append(envelope)
            try dev.send(envelope)
        }
        // A ping's pong confirms every earlier envelope was accepted (queued in Redis).
        var ping = RMBEnvelope()
        ping.uid = "p1"
        ping.source = RMBAddress(twin: TestIdentity.dev.twin)
        ping.message = .ping(RMBPing())
        try dev.send(ping)
        let pong = try await dev.next()
        #expect(pong.uid == "p1")
        let client = try RedisClient(url: redis.url)
        let length = try await client.send("XLEN", "stream:\(TestIdentity.alpha.twin)")
        #expect(length.integer == 250)
        let ttl = try await client.send("TTL", "stream:\(TestIdentity.alpha.twin)")
        #expect((ttl.integer ?? 0) > 3500)

        let alpha = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        for expected in sent {
            let got = try await alpha.next()
            #expect(got.uid == expected.uid)
        }
        // deleted promptly after the write
        var remaining: Int64 = -1
        for _ in 0..<50 {
            remaining = try await client.send("XLEN", "stream:\(TestIdentity.alpha.twin)").integer ?? -1
            if remaining == 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(remaining == 0)
        await dev.close(); await alpha.close(); await relay.stop()
    }

    @Test func sessionReplacementKeepsTheNewSession() async throws {
        let (redis, relay, _) = try await setUp()
        defer { redis.stop() }
        let first = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        let second = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        try await first.waitClosed()
        try await Task.sleep(for: .milliseconds(200))   // the old connection's teardown has run
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(request)
        #expect(try await second.next().uid == request.uid)
        #expect(!second.isClosed)
        #expect(relay.server.core.registry.count == 2)
        await first.close(); await second.close(); await dev.close(); await relay.stop()
    }

    @Test func pingBecomesPongBehindEarlierEnvelopes() async throws {
        let (redis, relay, _) = try await setUp()
        defer { redis.stop() }
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token(sid: "s1"))
        var ping = RMBEnvelope()
        ping.uid = "ping-1"
        ping.source = RMBAddress(twin: TestIdentity.dev.twin, connection: "s1")
        ping.destination = RMBAddress(twin: 99)
        ping.message = .ping(RMBPing())
        ping.payload = .plain(Data("abc".utf8))
        // an envelope to itself first: it must arrive before the pong
        let own = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.dev.twin, connection: "s1"), sid: "s1")
        try dev.send(own)
        try dev.send(ping)
        #expect(try await dev.next().uid == own.uid)
        let pong = try await dev.next()
        guard case .pong? = pong.message else { Issue.record("expected a pong, got \(pong.messageKind)"); return }
        #expect(pong.uid == "ping-1")
        #expect(pong.source.twin == 99)
        #expect(pong.destination == RMBAddress(twin: TestIdentity.dev.twin, connection: "s1"))
        #expect(pong.plain == Data("abchello world".utf8))
        await dev.close(); await relay.stop()
    }

    @Test func routingErrorsAreUnsignedCodeZeroReplies() async throws {
        let (redis, relay, twins) = try await setUp()
        defer { redis.stop() }
        twins.set(.beta, relays: [])
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        func expectError(_ envelope: RMBEnvelope, _ text: String) async throws {
            try dev.send(envelope)
            let reply: RMBEnvelope
            do {
                reply = try await dev.next()
            } catch {
                // CI once: no reply within 5 s, not reproduced; say which step waited.
                Issue.record("no reply to the envelope that should get \"\(text)\": \(error)")
                throw error
            }
            #expect(reply.uid == envelope.uid)
            #expect(reply.error.code == 0)
            #expect(reply.error.message == text)
            #expect(!reply.hasSource)
            #expect(!reply.hasSignature)
            #expect(reply.destination == RMBAddress(twin: TestIdentity.dev.twin))
        }
        try await expectError(try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.dev.twin)), RelayErrorText.wrongSource)
        try await expectError(try TestIdentity.dev.request(to: RMBAddress(twin: 0)), RelayErrorText.missingDestination)
        try await expectError(try TestIdentity.dev.request(to: RMBAddress(twin: 4242)), RelayErrorText.unknownDestination)
        try await expectError(try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.beta.twin)), RelayErrorText.relayNotSet)
        // fail-fast to alpha, which is offline
        try await expectError(try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), tags: "x, fail-fast"),
                              RelayErrorText.destinationOffline)
        // fail-fast when alpha is online: delivered
        let alpha = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        let fast = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), tags: "fail-fast")
        try dev.send(fast)
        #expect(try await alpha.next().uid == fast.uid)
        await alpha.close(); await dev.close(); await relay.stop()
    }

    @Test func badFramesCloseTheConnectionWithoutHarm() async throws {
        let (redis, relay, _) = try await setUp()
        defer { redis.stop() }
        let text = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        text.sendText("hello")
        try await text.waitClosed()
        // The close frame is written before the socket closes.
        #expect(try await text.waitCloseCode() == .unacceptableData)
        let garbage = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        garbage.send(bytes: [0xff, 0xff, 0xff, 0x01])
        try await garbage.waitClosed()
        #expect(try await garbage.waitCloseCode() == .unacceptableData)
        // Registration is gone (no stale entry as in the reference).
        try await Task.sleep(for: .milliseconds(100))
        #expect(relay.server.core.registry.count == 0)
        // And a fresh connection works.
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let own = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.dev.twin))
        try dev.send(own)
        #expect(try await dev.next().uid == own.uid)
        await text.close(); await garbage.close(); await dev.close(); await relay.stop()
    }

    /// A close frame is queued behind what was sent to the connection earlier: an envelope the
    /// peer sent to itself right before a text frame still arrives, then the 1003 close.
    @Test func closeFrameFollowsEarlierFrames() async throws {
        let (redis, relay, _) = try await setUp()
        defer { redis.stop() }
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let own = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.dev.twin))
        try dev.send(own)
        dev.sendText("not an envelope")
        #expect(try await dev.next().uid == own.uid)
        #expect(try await dev.waitCloseCode() == .unacceptableData)
        try await dev.waitClosed()
        #expect(try await eventually { relay.server.core.registry.count == 0 })
        await dev.close(); await relay.stop()
    }

    @Test func rateLimitDropsWithAnErrorReply() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port) {
            $0.rateLimit = .init(count: 3, size: 1_000_000)
        }
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        var uids: [String] = []
        for _ in 0..<4 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.dev.twin))
            uids.append(envelope.uid)
            try dev.send(envelope)
        }
        var replies: [RMBEnvelope] = []
        for _ in 0..<4 { replies.append(try await dev.next()) }
        let errors = replies.filter { if case .error? = $0.message { return true } else { return false } }
        #expect(errors.count == 1)
        #expect(errors.first?.error.message == RelayErrorText.rateLimited)
        #expect(errors.first?.uid == uids[3])
        await dev.close(); await relay.stop()
    }
}
}
