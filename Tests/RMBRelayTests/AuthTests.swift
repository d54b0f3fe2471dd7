import Foundation
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import Testing
@testable import RMBRelay

/// Every refusal of relay.md §1–2, checked on the wire (status and body).
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct AuthTests {
    @Test func everyAuthFailureHasItsStatusAndText() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let twins = MemoryTwins([(TestIdentity.dev, ["relay.example"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins) { $0.maxTokenLifetime = 3600 }
        let port = relay.port

        var reply = try await RawHTTP.upgrade(port: port, target: "/")
        #expect(reply.status == 400 && reply.body == "missing jwt")

        reply = try await RawHTTP.upgrade(port: port, target: "/any/path?not-a-token")
        #expect(reply.status == 401 && reply.body.hasPrefix("invalid jwt: jwt: "))

        let expired = try TestIdentity.dev.token(issuedAt: unixNow() - 1000, lifetime: 300)
        reply = try await RawHTTP.upgrade(port: port, target: "/?" + expired)
        #expect(reply.status == 401 && reply.body == "invalid jwt: jwt has expired")

        let unknown = try TestIdentity.alpha.token()
        reply = try await RawHTTP.upgrade(port: port, target: "/?" + unknown)
        #expect(reply.status == 401 && reply.body == "twin not found \(TestIdentity.alpha.twin)")

        // alpha signs a token claiming to be dev: bad signature
        let forged = try RelayToken.make(identity: TestIdentity.alpha.identity, twin: TestIdentity.dev.twin)
        reply = try await RawHTTP.upgrade(port: port, target: "/?" + forged)
        #expect(reply.status == 401 && reply.body == "invalid jwt: jwt: invalid signature")

        let tooLong = try TestIdentity.dev.token(lifetime: 86_400)
        reply = try await RawHTTP.upgrade(port: port, target: "/?" + tooLong)
        #expect(reply.status == 401 && reply.body.contains("lifetime"))

        twins.failing = true
        let fresh = try TestIdentity.dev.token(sid: "other")
        // dev is cached positively, so use a twin id the cache has not seen
        let missing = try RelayToken.make(identity: TestIdentity.beta.identity, twin: TestIdentity.beta.twin)
        reply = try await RawHTTP.upgrade(port: port, target: "/?" + missing)
        #expect(reply.status == 500 && reply.body.hasPrefix("failed to get twin: "))
        twins.failing = false

        // a valid token upgrades (on any path)
        let peer = try await TestPeer.connect("ws://127.0.0.1:\(port)/some/path", token: fresh)
        await peer.close()

        reply = try await RawHTTP.send(port: port, request: "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reply.status == 404 && reply.body == "page not found")

        reply = try await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reply.status == 200)
        await relay.stop()
    }
}
}
