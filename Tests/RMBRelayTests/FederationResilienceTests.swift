import Foundation
import RMBProtocol
import RMBTestSupport
import RedisClient
import Testing
@testable import RMBRelay

/// Federation when destination relays fail (known-gaps §14, §17): the per-domain circuit
/// breaker, retries that do not hold up other domains, recovery, expiry while failing, and the
/// reclaim of a killed relay's pending entries by a sibling process.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct FederationResilienceTests {
    /// A ping's pong confirms that the relay accepted every earlier envelope of the connection.
    private func pendingCount(_ client: RedisClient) async throws -> Int64 {
        let reply = try await client.send("XPENDING", "relay.federation.stream", "federation")
        return reply.array?.first?.integer ?? 0
    }

    @Test func deadRelayDoesNotStallOtherDomainsAndIsReachedWhenItComesBack() async throws {
        let redisA = try await startRedis(), redisB = try await startRedis(), redisC = try await startRedis()
        defer { redisA.stop(); redisB.stop(); redisC.stop() }
        let portA = try freeLoopbackPort(), portB = try freeLoopbackPort(), deadPort = try freeLoopbackPort()
        let twins = MemoryTwins()
        twins.set(.dev, relays: ["http://127.0.0.1:\(portA)"])
        twins.set(.alpha, relays: ["http://127.0.0.1:\(deadPort)"])   // nothing listens there yet
        twins.set(.beta, relays: ["http://127.0.0.1:\(portB)"])
        let relayA = try await RelayHarness.start(redis: redisA.url, twins: twins, port: portA) {
            $0.workers = 10   // 16 envelopes in flight at most: fewer than the dead relay's backlog
            $0.breakerCooldown = .seconds(1); $0.breakerMaxCooldown = .seconds(2)
        }
        let relayB = try await RelayHarness.start(redis: redisB.url, twins: twins, port: portB)
        let dev = try await TestPeer.connect(relayA.url, token: TestIdentity.dev.token())
        let beta = try await TestPeer.connect(relayB.url, token: TestIdentity.beta.token())

        var forAlpha: Set<String> = []
        for index in 0..<40 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: "a\(index)")
            forAlpha.insert(envelope.uid)
            try dev.send(envelope)
        }
        try await dev.confirm(twin: TestIdentity.dev.twin)
        let client = try RedisClient(url: redisA.url)
        // every one of them was read by the worker and is pending (not lost, not acked)
        #expect(try await eventually(.seconds(10)) { try await pendingCount(client) == 40 })

        // the live domain keeps flowing, promptly, behind the dead one's backlog
        let started = ContinuousClock.now
        for index in 0..<5 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.beta.twin), payload: "b\(index)")
            try dev.send(envelope)
            #expect(try await beta.next(timeout: .seconds(5)).uid == envelope.uid)
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        // (the last beta envelope can reach beta before relay A has acknowledged its delivery)
        #expect(try await eventually(.seconds(5)) { try await pendingCount(client) == 40 })

        // the dead relay comes back: the breaker half-opens, closes, and the backlog drains
        let relayC = try await RelayHarness.start(redis: redisC.url, twins: twins, port: deadPort)
        let alpha = try await TestPeer.connect(relayC.url, token: TestIdentity.alpha.token())
        var received: Set<String> = []
        while received.count < forAlpha.count {
            received.insert(try await alpha.next(timeout: .seconds(30)).uid)
        }
        #expect(received == forAlpha)
        #expect(try await eventually(.seconds(5)) { try await client.send("XLEN", "relay.federation.stream").integer == 0 })
        await alpha.close(); await beta.close(); await dev.close()
        await relayA.stop(); await relayB.stop(); await relayC.stop()
    }

    @Test func failingRelayOpensTheBreakerExpiredEnvelopesComeBackAndRecoveryDelivers() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let stub = try await StubRelay.start(status: .serviceUnavailable)
        let port = try freeLoopbackPort()
        let twins = MemoryTwins()
        twins.set(.dev, relays: ["http://127.0.0.1:\(port)"])
        twins.set(.alpha, relays: [stub.url])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port) {
            $0.workers = 10
            $0.breakerCooldown = .seconds(1); $0.breakerMaxCooldown = .seconds(2)
        }
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        var uids: Set<String> = []
        for index in 0..<20 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: "m\(index)")
            uids.insert(envelope.uid)
            try dev.send(envelope)
        }
        try await dev.confirm(twin: TestIdentity.dev.twin)
        // one with a 2 s ttl: the relay keeps failing until it expires, so it comes back as an
        // error — possibly at once, so it is sent after the confirmation (which skips what
        // arrives before its pong)
        var short = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        short.expiration = 2
        try short.sign(with: TestIdentity.dev.identity)
        try dev.send(short)

        try await Task.sleep(for: .seconds(3))
        // open breaker: the failing relay sees about one trial per cool-down, not 3 passes
        // (and retries) for each of the 21 envelopes
        let before = stub.requestCount
        #expect(before < 45, "requests before the breaker settled: \(before)")
        try await Task.sleep(for: .seconds(3))
        let during = stub.requestCount - before
        #expect(during <= 6, "requests while open: \(during)")

        // (it could not be retried in time: the sender heard so before it expired, with the reason)
        let error = try await dev.next(timeout: .seconds(15))
        #expect(error.uid == short.uid)
        #expect(error.error.message.hasPrefix(RelayErrorText.undeliverablePrefix), "\(error.error.message)")

        stub.answer(.accepted)
        let expected = uids
        #expect(try await eventually(.seconds(30)) { Set(stub.acceptedUIDs).isSuperset(of: expected) })
        #expect(Set(stub.acceptedUIDs) == uids)
        let client = try RedisClient(url: redis.url)
        #expect(try await eventually(.seconds(5)) { try await client.send("XLEN", "relay.federation.stream").integer == 0 })
        await dev.close(); await relay.stop(); await stub.stop()
    }

    @Test func killedRelaysPendingEntriesAreReclaimedByASibling() async throws {
        let redis = try await startRedis(), redisD = try await startRedis()
        defer { redis.stop(); redisD.stop() }
        let portOne = try freeLoopbackPort(), portTwo = try freeLoopbackPort(), portD = try freeLoopbackPort()
        let file = try TwinsFile([(TestIdentity.dev, ["127.0.0.1:\(portOne)", "127.0.0.1:\(portTwo)"]),
                                  (TestIdentity.alpha, ["http://127.0.0.1:\(portD)"])])
        defer { file.remove() }
        func spawn(_ port: Int) throws -> RelayProcess {
            try RelayProcess(arguments: ["--twins", file.path, "-r", redis.url, "-l", "127.0.0.1:\(port)",
                                         "-m", "127.0.0.1:\(portOne)", "127.0.0.1:\(portTwo)", "-w", "4", "-u", "100"])
        }
        let one = try spawn(portOne)
        var oneStopped = false, two: RelayProcess?
        defer {
            if !oneStopped { _ = one.stop(signal: SIGKILL, timeout: .seconds(2)) }
            if let two { _ = two.stop(signal: SIGKILL, timeout: .seconds(2)) }
        }
        #expect(await one.waitUp(port: portOne), "relay did not start: \(one.log)")
        let dev = try await TestPeer.connect("ws://127.0.0.1:\(portOne)/", token: TestIdentity.dev.token())
        var uids: Set<String> = []
        for index in 0..<10 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: "k\(index)")
            uids.insert(envelope.uid)
            try dev.send(envelope)
        }
        try await dev.confirm(twin: TestIdentity.dev.twin)
        let client = try RedisClient(url: redis.url)
        // the destination relay is down: the first process read them all and holds them pending
        #expect(try await eventually(.seconds(10)) { try await pendingCount(client) == 10 })
        oneStopped = true
        #expect(try await onThread { one.stop(signal: SIGKILL) } == -SIGKILL)
        await dev.close()

        let twinsD = MemoryTwins([(TestIdentity.alpha, ["http://127.0.0.1:\(portD)"])])
        let relayD = try await RelayHarness.start(redis: redisD.url, twins: twinsD, port: portD)
        let alpha = try await TestPeer.connect(relayD.url, token: TestIdentity.alpha.token())
        let second = try spawn(portTwo)
        two = second
        #expect(await second.waitUp(port: portTwo), "relay did not start: \(second.log)")
        var received: Set<String> = []
        while received.count < uids.count {
            received.insert(try await alpha.next(timeout: .seconds(40)).uid)
        }
        #expect(received == uids)
        #expect(try await eventually(.seconds(5)) { try await client.send("XLEN", "relay.federation.stream").integer == 0 })
        #expect(try await pendingCount(client) == 0)
        two = nil
        #expect(try await onThread { second.stop() } == 0)
        await alpha.close(); await relayD.stop()
    }
}
}
