import Foundation
import RMBProtocol
import RMBTestSupport
import RedisClient
import Testing
@testable import RMBRelay

/// A relay that cannot reach the destination's relays tells the sender before the request
/// expires (issue 18), not after.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct FederationGiveUpTests {
    private func envelope(timestamp: UInt64, expiration: UInt64) -> RMBEnvelope {
        var envelope = RMBEnvelope()
        envelope.timestamp = timestamp
        envelope.expiration = expiration
        return envelope
    }

    @Test func aRetryIsWorthItOnlyIfItStartsAQuarterOfTheTtlBeforeTheDeadline() {
        let sent = envelope(timestamp: 1_000, expiration: 20)   // deadline 1_020, margin 5 s
        #expect(FederationGiveUp.retryCanLand(after: .seconds(1), envelope: sent, nowMillis: 1_000_000))
        #expect(FederationGiveUp.retryCanLand(after: .seconds(4), envelope: sent, nowMillis: 1_011_000))   // 9 ≥ 4 + 5
        #expect(!FederationGiveUp.retryCanLand(after: .seconds(4), envelope: sent, nowMillis: 1_012_000))  // 8 < 4 + 5
        #expect(!FederationGiveUp.retryCanLand(after: .milliseconds(500), envelope: sent, nowMillis: 1_020_000))  // expired
        #expect(FederationGiveUp.attemptBudget(envelope: sent, nowMillis: 1_015_500) == .milliseconds(3_500))
        #expect(FederationGiveUp.attemptBudget(envelope: sent, nowMillis: 1_019_500) == .zero)
        #expect(FederationGiveUp.attemptBudget(envelope: sent, nowMillis: 1_030_000) == .zero)
        // Short ttls keep a 1-s margin.
        let short = envelope(timestamp: 1_000, expiration: 2)
        #expect(FederationGiveUp.retryCanLand(after: .milliseconds(500), envelope: short, nowMillis: 1_000_000))
        #expect(!FederationGiveUp.retryCanLand(after: .milliseconds(500), envelope: short, nowMillis: 1_000_600))   // 1.4 s < 1.5 s
        #expect(!FederationGiveUp.retryCanLand(after: .milliseconds(500), envelope: short, nowMillis: 1_001_000))
    }

    @Test func aDeadDestinationRelayIsReportedToTheSenderBeforeTheRequestExpires() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort(), deadPort = try freeLoopbackPort()
        let twins = MemoryTwins()
        twins.set(.dev, relays: ["http://127.0.0.1:\(port)"])
        twins.set(.alpha, relays: ["http://127.0.0.1:\(deadPort)"])   // nothing listens there
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port)
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        var request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        request.expiration = 12
        try request.sign(with: TestIdentity.dev.identity)
        let sent = ContinuousClock.now
        try dev.send(request)

        let error = try await dev.next(timeout: .seconds(20))
        let waited = ContinuousClock.now - sent
        #expect(error.uid == request.uid)
        #expect(error.error.message.hasPrefix(RelayErrorText.undeliverablePrefix), "\(error.error.message)")
        #expect(error.error.message.contains("127.0.0.1:\(deadPort)"), "names the relay: \(error.error.message)")
        // The attempts end a second before the deadline at the latest; then the relay gives up.
        #expect(waited < .seconds(12) - FederationGiveUp.errorTrip, "error after \(waited)")
        let client = try RedisClient(url: redis.url)
        #expect(try await eventually(.seconds(5)) { try await client.send("XLEN", "relay.federation.stream").integer == 0 })
        await dev.close(); await relay.stop()
    }
}
}
