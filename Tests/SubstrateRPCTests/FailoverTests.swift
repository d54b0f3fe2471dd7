import Foundation
import Testing
@testable import SubstrateRPC
import SubstrateTestSupport

@Suite("Substrate RPC failover", .timeLimit(.minutes(1)))
struct FailoverTests {
    @Test("a closed port first, then a live node: the call succeeds on the second URL")
    func closedPortThenLiveNode() async throws {
        try await withNode({ _ in .result("0x01") }) { (node: ReplayNode) async throws in
            let client = makeClient([try closedPortURL(), node.url])
            #expect(try await client.finalizedHead() == [0x01])
            #expect(node.requests.count == 1)
            // The client stays on the URL that works.
            #expect(try await client.finalizedHead() == [0x01])
            #expect(node.connectionCount == 1)
            await client.close()
        }
    }

    @Test("a node that drops the connection mid-call: retried on the next URL")
    func dropMidCall() async throws {
        try await withNode({ _ in .closeConnection }) { (dropping: ReplayNode) async throws in
            let live = try await ReplayNode.start { _ in .result(7) }
            let client = makeClient([dropping.url, live.url])
            #expect(try await client.call("system_accountNextIndex", ["x"]) == .number(7))
            #expect(dropping.requests.count == 1)
            #expect(live.requests.count == 1)
            await client.close()
            await live.stop()
        }
    }

    @Test("one URL whose first connection drops: reconnects to it and retries")
    func reconnectSameURL() async throws {
        try await withNode({ request in request.connection == 1 ? .closeConnection : .result("ok") }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            #expect(try await client.call("m") == .string("ok"))
            #expect(node.connectionCount == 2)
            #expect(node.requests.map(\.method) == ["m", "m"])
            await client.close()
        }
    }

    @Test("a node that never answers: error after 2 × attempt timeout, not later")
    func neverAnswers() async throws {
        try await withNode({ _ in .noAnswer }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url], attemptTimeout: .seconds(1))
            let started = ContinuousClock.now
            let error = await rpcError { try await client.call("state_getStorage", ["0x00"]) }
            let elapsed = ContinuousClock.now - started
            #expect(error == .allAttemptsFailed(urls: [node.url], attempts: 2,
                                                lastError: .timeout(method: "state_getStorage", after: .seconds(1))))
            #expect(elapsed >= .seconds(2))
            // Bounded: generous, because the whole suite runs in parallel on two cores.
            #expect(elapsed < .seconds(20))
            // Each timeout dropped the connection: two attempts, two connections (on a loaded
            // machine a connect may use up an attempt before its request is written).
            #expect((1...2).contains(node.requests.count))
            #expect((1...2).contains(node.connectionCount))
            await client.close()
        }
    }

    @Test("all URLs fail: allAttemptsFailed after 2 × N attempts, round robin")
    func allAttemptsFail() async throws {
        let first = try await ReplayNode.start { _ in .closeConnection }
        let second = try await ReplayNode.start { _ in .closeConnection }
        let client = makeClient([first.url, second.url])
        let error = await rpcError { try await client.call("m") }
        guard case .allAttemptsFailed(let urls, let attempts, let lastError)? = error else {
            Issue.record("expected allAttemptsFailed, got \(String(describing: error))")
            return
        }
        #expect(urls == [first.url, second.url])
        #expect(attempts == 4)
        if case .transport? = lastError {} else { Issue.record("last error \(String(describing: lastError))") }
        // Round robin: first, second, first, second.
        #expect(first.requests.count == 2)
        #expect(second.requests.count == 2)
        #expect(error?.description.contains("4 attempts") == true)
        await client.close()
        await first.stop()
        await second.stop()
    }

    @Test("closed ports only: allAttemptsFailed quickly")
    func closedPortsOnly() async throws {
        let urls = [try closedPortURL(), try closedPortURL()]
        let client = makeClient(urls)
        let started = ContinuousClock.now
        let error = await rpcError { try await client.call("m") }
        guard case .allAttemptsFailed(urls, 4, .transport?)? = error else {
            Issue.record("expected allAttemptsFailed, got \(String(describing: error))")
            return
        }
        #expect(ContinuousClock.now - started < .seconds(30))   // generous: parallel suite on two cores
        await client.close()
    }

    @Test("no URL at all")
    func noURL() async {
        let client = makeClient([])
        #expect(await rpcError { try await client.call("m") } == .allAttemptsFailed(urls: [], attempts: 0, lastError: nil))
    }

    @Test("after a drop, the next call reconnects lazily")
    func lazyReconnect() async throws {
        try await withNode({ _ in .result(true) }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            #expect(try await client.call("a") == .bool(true))
            node.closeAllConnections()
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await client.call("b") == .bool(true))
            #expect(node.connectionCount == 2)
            await client.close()
        }
    }
}
