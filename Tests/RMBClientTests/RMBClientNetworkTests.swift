import Foundation
import RMBClient
import RMBTestSupport
import ServiceLifecycle
import Testing

/// The client and the server library through real `rmb-peer`s and federated `rmb-relay`s:
/// twin 1 calls, twin 2 serves.
@Suite("RMBClient through real peers", .serialized, .timeLimit(.minutes(3)))
struct RMBClientNetworkTests {
    struct Operands: Codable { var a: Int; var b: Int }
    struct Sum: Codable, Equatable { var sum: Int; var caller: UInt32 }

    @Test("calls, remote errors and undeliverable twins", arguments: [true, false])
    func callsThroughPeers(e2e: Bool) async throws {
        let network = try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 1, identity: 0, relays: [0], e2e: e2e),
            .init(twin: 2, identity: 1, relays: [1], e2e: e2e),
        ])
        defer { network.shutdown() }
        var router = RMBRouter()
        router.group("calc") { calc in
            calc.handle("add") { (input: Operands, request) in Sum(sum: input.a + input.b, caller: request.twin) }
            calc.handle("fail") { _ in throw RMBServiceError(code: 7, "refused") }
        }
        let server = try RMBServer(router: router, redisURL: network.peers[1].redisURL)
        let serving = Task { try await server.run() }
        defer { serving.cancel() }
        let client = try RMBClient(redisURL: network.peers[0].redisURL)
        defer { client.close() }

        let sum: Sum = try await client.call(twin: 2, "calc.add", Operands(a: 40, b: 2), timeout: .seconds(30))
        #expect(sum == Sum(sum: 42, caller: 1))

        // Answered by the remote peer itself.
        let version: String = try await client.call(twin: 2, "rmb.version", timeout: .seconds(30))
        #expect(version.hasSuffix("-swift"))

        await #expect(throws: RMBCallError.remote(code: 7, message: "refused", source: "2")) {
            let _: Sum = try await client.call(twin: 2, "calc.fail", Operands(a: 0, b: 0), timeout: .seconds(30))
        }

        // Concurrent calls, and a multi-twin call where one twin does not exist.
        let sums = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let reply: Sum = try await client.call(twin: 2, "calc.add", Operands(a: index, b: 1), timeout: .seconds(60))
                    return reply.sum == index + 1
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(sums == 200)
        let many = try await client.call(twins: [2, 999], "calc.add", Operands(a: 1, b: 1), as: Sum.self, timeout: .seconds(30))
        #expect(try many[2]?.get() == Sum(sum: 2, caller: 1))
        guard case .failure(.remote(_, _, let source))? = many[999] else {
            Issue.record("twin 999 should be undeliverable: \(String(describing: many[999]))\n\(network.diagnostics())")
            return
        }
        #expect(source == "" || source == "0")
    }

    @Test("an unreachable destination relay is an error on ret before the ttl (issue 18)")
    func unreachableRelayIsReportedBeforeTheTimeout() async throws {
        let network = try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 1, identity: 0, relays: [0]),
            .init(twin: 2, identity: 1, relays: [1]),
        ])
        defer { network.shutdown() }
        network.relays[1].process.kill()
        let client = try RMBClient(redisURL: network.peers[0].redisURL)
        defer { client.close() }
        let started = ContinuousClock.now
        do {
            let _: String = try await client.call(twin: 2, "rmb.version", timeout: .seconds(15))
            Issue.record("twin 2's only relay is down, yet the call was answered")
        } catch {
            guard case .remote(_, let message, let source) = error else {
                Issue.record("expected the relay's error before the timeout, got \(error)\n\(network.diagnostics())")
                return
            }
            #expect(source == "0")
            #expect(message.hasPrefix("cannot reach the destination's relay before the message expires: "), "\(message)")
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }
}
