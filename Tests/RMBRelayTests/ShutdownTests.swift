import Foundation
import RMBProtocol
import RMBTestSupport
import RedisClient
import Testing
@testable import RMBRelay

/// Stopping a relay loses nothing it accepted: frames still queued for a socket that does not
/// drain go to the session's stream before Redis is closed.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct ShutdownTests {
    @Test func framesQueuedForAStalledSocketGoToTheStreamOnShutdown() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port) { $0.outboundBuffer = 16 }
        let alpha = try await StalledWebSocket.connect(port: port, token: try TestIdentity.alpha.token())
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        #expect(try await eventually { relay.server.core.registry.count == 2 })

        // ~10 MB for alpha: more than the loopback socket buffers hold
        var sent: Set<String> = []
        let payload = String(repeating: "q", count: 16 << 10)
        for _ in 0..<600 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: payload)
            sent.insert(envelope.uid)
            try dev.send(envelope)
        }
        // the pong confirms every envelope sent before it was routed
        try await dev.confirm(twin: TestIdentity.dev.twin, timeout: .seconds(20))
        let alphaSession = relay.server.core.registry.session(for: SessionID(twin: TestIdentity.alpha.twin, sid: nil))
        #expect((alphaSession?.queuedCount ?? 0) > 0)

        await relay.stop()
        let client = try RedisClient(url: redis.url)
        let entries = try await client.send("XRANGE", "stream:\(TestIdentity.alpha.twin)", "-", "+").array ?? []
        var stored: Set<String> = []
        for entry in entries {
            guard let fields = entry.array?.last?.array, fields.count == 2, let bytes = fields[1].bytes else { continue }
            stored.insert(try RMBEnvelope(wire: bytes).uid)
        }
        let received = Set(try await alpha.drain().map { try RMBEnvelope(wire: $0).uid })
        #expect(!stored.isEmpty)
        let lost = sent.subtracting(received.union(stored))
        #expect(lost.isEmpty, "\(lost.count) of \(sent.count) envelopes lost")
        await dev.close()
    }

    /// SIGTERM under load — a session that does not read, another sending as fast as it can,
    /// federation retries to a dead relay pending — ends the process within `--shutdown-timeout`.
    @Test func sigtermUnderLoadExitsWithinTheBound() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort(), deadRelay = try freeLoopbackPort()
        let twins = try TwinsFile([
            (TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"]),
            (TestIdentity.beta, ["http://127.0.0.1:\(deadRelay)"]),
        ])
        defer { twins.remove() }
        let relay = try RelayProcess(arguments: [
            "--twins", twins.path, "-r", redis.url, "-l", "127.0.0.1:\(port)", "-m", "127.0.0.1:\(port)", "--shutdown-timeout", "5",
        ])
        defer { _ = relay.stop(signal: SIGKILL, timeout: .seconds(2)) }
        #expect(await relay.waitUp(port: port), "\(relay.log)")
        let stalled = try await StalledWebSocket.connect(port: port, token: try TestIdentity.alpha.token())
        let dev = try await TestPeer.connect("ws://127.0.0.1:\(port)/", token: TestIdentity.dev.token())
        let payload = String(repeating: "q", count: 16 << 10)
        for index in 0..<400 {
            let destination = index % 4 == 0 ? TestIdentity.beta.twin : TestIdentity.alpha.twin
            try dev.send(try TestIdentity.dev.request(to: RMBAddress(twin: destination), payload: payload))
        }
        let sender = Task.detached {
            while !Task.isCancelled {
                try? dev.send(try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: payload))
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
        defer { sender.cancel() }
        try await Task.sleep(for: .seconds(1))
        let started = ContinuousClock.now
        let status = try await onThread { relay.stop(signal: SIGTERM, timeout: .seconds(15)) }
        let took = ContinuousClock.now - started
        #expect(status != nil, "still running 15 s after SIGTERM: \(relay.log.suffix(2000))")
        #expect(took < .seconds(7), "SIGTERM took \(took)")
        #expect(status == 0, "exit status \(String(describing: status)): \(relay.log.suffix(2000))")
        _ = stalled
        await dev.close()
    }
}
}
