import Foundation
import RMBProtocol
import RMBTestSupport
import Testing
@testable import RMBRelay

/// The relay's per-session timers on a manual clock, through real sockets: a client that answers
/// no ping is pinged after one interval of silence and closed after two, while one that answers
/// stays; a session whose socket stops draining is evicted after 60 s of back-pressure and not
/// a sweep sooner. The test decides when time passes, so a loaded machine cannot move a verdict.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct SessionTimerTests {
    private static let alpha = SessionID(twin: TestIdentity.alpha.twin, sid: nil)
    private static let dev = SessionID(twin: TestIdentity.dev.twin, sid: nil)

    /// Lets the timer that wakes `step` from now fire, and waits until its loop has done its
    /// work and sleeps again (its next wake-up is registered).
    private static func step(_ clock: ManualClock, by step: Duration) async {
        #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: step)), "no timer due in \(step)")
        clock.advance(by: step)
        #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: step)), "the timer did not sleep again")
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 { UInt64(duration.nanoseconds) }

    @Test func aSilentSessionIsPingedAfterOneIntervalAndClosedAfterTwoWhileOneThatAnswersStays() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"])])
        let clock = ManualClock()
        // The sweep runs every third of the interval (15 s); presence's 10-s timer never shares a deadline with it.
        let interval = Duration.seconds(45), tick = Duration.seconds(15)
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port, clock: clock) {
            $0.limits.pingInterval = interval
        }
        let silent = try await StalledWebSocket.connect(port: port, token: try TestIdentity.alpha.token())
        let answering = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let registry = relay.server.core.registry
        #expect(try await eventually { registry.count == 2 })
        let silentSession = try #require(registry.session(for: Self.alpha))
        let answeringSession = try #require(registry.session(for: Self.dev))

        await Self.step(clock, by: tick)
        await Self.step(clock, by: tick)
        #expect(silentSession.liveness.pinged == 0 && answeringSession.liveness.pinged == 0, "30 s of silence: no ping yet")
        await Self.step(clock, by: tick)
        #expect(silentSession.liveness.pinged == Self.nanoseconds(interval), "45 s: pinged")
        #expect(answeringSession.liveness.pinged == Self.nanoseconds(interval))
        #expect(try await eventually { answeringSession.liveness.heard >= Self.nanoseconds(interval) }, "the client's pong is heard")

        await Self.step(clock, by: tick)
        await Self.step(clock, by: tick)
        #expect(registry.count == 2, "75 s of silence: still open")
        #expect(try await relay.metric("relay_connection_timeouts_total{stage=\"ping\"}") == 0)
        await Self.step(clock, by: tick)
        #expect(try await eventually { registry.session(for: Self.alpha) == nil }, "90 s: closed")
        #expect(registry.session(for: Self.dev) === answeringSession, "the client that answers stays")
        #expect(try await relay.metric("relay_connection_timeouts_total{stage=\"ping\"}") == 1)
        let (bytes, closed) = try await silent.readUntilClosed(seconds: 10)
        #expect(closed)
        #expect(bytes == [0x89, 0x00], "one empty ping, then the socket closed")
        try await answering.confirm(twin: TestIdentity.dev.twin)

        await answering.close()
        await relay.stop()
    }

    @Test func aSessionThatStopsDrainingIsEvictedAfterSixtySecondsOfBackPressure() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"])])
        let clock = ManualClock()
        // Presence sweeps every 10 s (a third of its 30-s TTL); pings are kept out of the way.
        let period = Duration.seconds(10)
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port, clock: clock) {
            $0.outboundBuffer = 16
            $0.presenceTTL = .seconds(30)
            $0.limits.pingInterval = .seconds(3600)
        }
        let stalled = try await StalledWebSocket.connect(port: port, token: try TestIdentity.alpha.token())
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let registry = relay.server.core.registry
        #expect(try await eventually { registry.count == 2 })
        // ~10 MB for alpha: more than the loopback socket buffers hold, so its queue fills.
        let payload = String(repeating: "q", count: 16 << 10)
        for _ in 0..<600 {
            try dev.send(try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: payload))
        }
        try await dev.confirm(twin: TestIdentity.dev.twin, timeout: .seconds(20))
        let session = try #require(registry.session(for: Self.alpha))
        let since = try #require(session.backPressuredSince, "alpha's queue must be refusing frames")

        // Sweeps while the back-pressure is at most 60 s old leave the session alone (a sweep
        // counts an eviction before its timer sleeps again, so the metric is current after a step).
        let evictions = "relay_session_evictions_total{reason=\"back_pressure_timeout\"}"
        while clock.now.offset + period - since <= .seconds(60) {
            await Self.step(clock, by: period)
            #expect(try await relay.metric(evictions) == 0, "evicted after \(clock.now.offset - since)")
        }
        #expect(registry.session(for: Self.alpha) === session)
        #expect(session.backPressuredSince == since, "the socket drained meanwhile: the test's premise is gone")
        await Self.step(clock, by: period)
        #expect(try await eventually { registry.session(for: Self.alpha) == nil }, "evicted after \(clock.now.offset - since)")
        #expect(try await relay.metric(evictions) == 1)
        #expect(registry.session(for: Self.dev) != nil)
        _ = stalled

        await dev.close()
        await relay.stop()
    }
}
}

extension RelayHarness {
    /// The value of one line of the relay's `/metrics` (`name{labels}`), 0 when absent.
    func metric(_ line: String) async throws -> Double {
        try await relayMetric(line, port: port)
    }
}

/// The value of one line (`name{labels}`) of `/metrics` of the relay on `port`, 0 when absent.
func relayMetric(_ line: String, port: Int) async throws -> Double {
    let body = try await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").body
    for row in body.split(separator: "\n") where row.hasPrefix(line + " ") {
        return Double(row.split(separator: " ").last ?? "") ?? 0
    }
    return 0
}
