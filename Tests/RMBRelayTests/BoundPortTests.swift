import Foundation
import RMBTestSupport
import Testing
@testable import RMBRelay

/// `RelayServer.boundPort()` is how embedders (RMBTesting, the tests) learn the port of a relay
/// started on port 0: a wait for it must end, whatever happens to the relay.
extension RelayTests {
@Suite(.timeLimit(.minutes(1)))
struct BoundPortTests {
    @Test func theWaitEndsWithThePortWhenCancelledAndWhenTheRelayCannotListen() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"])])
        let first = try await RelayHarness.start(redis: redis.url, twins: twins, port: port)
        #expect(first.port == port)

        // A relay that is never run: its waiter ends when cancelled, not at some later bind.
        let idle = try RelayServer(configuration: RelayConfiguration(domains: ["127.0.0.1:\(port)"], redisURL: redis.url,
                                                                     host: "127.0.0.1", port: port), twins: twins)
        let waiting = Task { try await idle.boundPort() }
        try await Task.sleep(for: .milliseconds(100))
        let cancelledAt = ContinuousClock.now
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        // Not waiting for ever is the point; the bound is generous for a loaded two-core machine.
        #expect(ContinuousClock.now - cancelledAt < .seconds(5))

        // Run on the port the first relay holds: run() fails, and so does the wait (before and after).
        let earlyWait = Task { try await idle.boundPort() }
        await #expect(throws: (any Error).self) { try await idle.run() }
        await #expect(throws: RelayServerError.self) { _ = try await earlyWait.value }
        await #expect(throws: RelayServerError.self) { _ = try await idle.boundPort() }
        await first.stop()
    }
}
}
