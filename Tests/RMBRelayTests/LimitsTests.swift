import Foundation
import NIOWebSocket
import RMBProtocol
import RMBTestSupport
import Testing
@testable import RMBRelay

/// Size limits and the federation ingress quota (known-gaps §5): the offending connection or
/// request gets a clear refusal, and everything else keeps working.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct LimitsTests {
    private func post(_ port: Int, _ body: [UInt8]) async throws -> RawHTTP.Reply {
        try await RawHTTP.send(port: port, request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n", body: body)
    }

    /// Sleeps past a minute boundary when one is near (the quota windows are aligned to them).
    private func avoidWindowEdge() async throws {
        let second = UInt64(Date().timeIntervalSince1970) % 60
        if second >= 50 { try await Task.sleep(for: .seconds(Int(61 - second))) }
    }

    @Test func oversizedFrameClosesOnlyThatConnectionWith1009() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port) { $0.maxFrameSize = 64 << 10 }
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let alpha = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        let big = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token(sid: "big"))
        // just under the limit: delivered
        let fits = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: String(repeating: "x", count: 60 << 10))
        #expect(try fits.wireBytes().count < 64 << 10)
        try dev.send(fits)
        #expect(try await alpha.next().uid == fits.uid)
        // over it: that connection is closed with 1009, the others carry on
        let tooBig = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), sid: "big",
                                                   payload: String(repeating: "y", count: 100 << 10))
        try big.send(tooBig)
        try await big.waitClosed()
        #expect(try await big.waitCloseCode() == .messageTooLarge)
        let after = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(after)
        #expect(try await alpha.next().uid == after.uid)
        let back = try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.dev.twin))
        try alpha.send(back)
        #expect(try await dev.next().uid == back.uid)
        #expect(!dev.isClosed && !alpha.isClosed)
        #expect(try await eventually { relay.server.core.registry.count == 2 })
        await big.close(); await dev.close(); await alpha.close(); await relay.stop()
    }

    @Test func oversizedFederationBodyGets413AndTheRelayKeepsServing() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["http://127.0.0.1:\(port)"]), (TestIdentity.alpha, ["http://127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port) { $0.maxBodySize = 64 << 10 }
        let alpha = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        let huge = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), payload: String(repeating: "z", count: 128 << 10))
        let refused = try await post(port, try huge.wireBytes())
        #expect(refused.status == 413)
        #expect(refused.body == "bad request: body larger than \(64 << 10) bytes")
        // the next request and the sessions are served as before
        let normal = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        #expect(try await post(port, try normal.wireBytes()).status == 202)
        #expect(try await alpha.next().uid == normal.uid)
        await alpha.close(); await relay.stop()
    }

    @Test func federationQuotaAnswers429PerDestinationTwin() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["http://127.0.0.1:\(port)"]), (TestIdentity.alpha, ["http://127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port) {
            $0.federationLimit = .init(count: 5, size: 1 << 20)
        }
        try await avoidWindowEdge()
        for _ in 0..<5 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
            #expect(try await post(port, try envelope.wireBytes()).status == 202)
        }
        let sixth = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        let refused = try await post(port, try sixth.wireBytes())
        #expect(refused.status == 429)
        #expect(refused.body == "federation limit exceeded for twin \(TestIdentity.alpha.twin)")
        // another destination twin is not affected, nor are sessions of the limited one
        let other = try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.dev.twin))
        #expect(try await post(port, try other.wireBytes()).status == 202)
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        #expect(try await dev.next().uid == other.uid)
        let direct = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(direct)
        let alpha = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        var got: [String] = []
        for _ in 0..<6 { got.append(try await alpha.next().uid) }
        #expect(got.last == direct.uid)
        await dev.close(); await alpha.close(); await relay.stop()
    }

    @Test func senderLearnsOfTheRemoteQuota() async throws {
        let redisA = try await startRedis(), redisB = try await startRedis()
        defer { redisA.stop(); redisB.stop() }
        let portA = try freeLoopbackPort(), portB = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["http://127.0.0.1:\(portA)"]), (TestIdentity.alpha, ["http://127.0.0.1:\(portB)"])])
        let relayA = try await RelayHarness.start(redis: redisA.url, twins: twins, port: portA)
        let relayB = try await RelayHarness.start(redis: redisB.url, twins: twins, port: portB) {
            $0.federationLimit = .init(count: 2, size: 1 << 20)
        }
        try await avoidWindowEdge()
        let dev = try await TestPeer.connect(relayA.url, token: TestIdentity.dev.token())
        let alpha = try await TestPeer.connect(relayB.url, token: TestIdentity.alpha.token())
        var sent: [String] = []
        for _ in 0..<3 {
            let envelope = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
            sent.append(envelope.uid)
            try dev.send(envelope)
            try await Task.sleep(for: .milliseconds(100))
        }
        var delivered: Set<String> = []
        for _ in 0..<2 { delivered.insert(try await alpha.next(timeout: .seconds(10)).uid) }
        let error = try await dev.next(timeout: .seconds(10))
        #expect(delivered.count == 2)
        #expect(delivered.union([error.uid]) == Set(sent))
        #expect(error.error.message == "remote relay rejected permanently: federation limit exceeded for twin \(TestIdentity.alpha.twin)")
        await dev.close(); await alpha.close(); await relayA.stop(); await relayB.stop()
    }
}
}
