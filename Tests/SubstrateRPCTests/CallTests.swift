import Foundation
import Testing
@testable import SubstrateRPC
import SubstrateTestSupport

@Suite("Substrate RPC calls", .timeLimit(.minutes(1)))
struct CallTests {
    @Test("typed helpers decode the node's answers")
    func typedHelpers() async throws {
        try await withNode({ request in
            switch request.method {
            case "state_getRuntimeVersion": .result(["specName": "tfchain", "specVersion": 147, "transactionVersion": 2])
            case "state_getMetadata": .result("0x6d657461")
            case "chain_getBlockHash": .result(NodeJSON(stringLiteral: request.params.first?.int == 0 ? "0x" + String(repeating: "ab", count: 32) : "0x01ff"))
            case "chain_getFinalizedHead": .result("0x0203")
            case "chain_getHeader": .result(["number": "0x1a2b", "parentHash": "0x0405", "stateRoot": "0x00"])
            case "system_accountNextIndex": .result(42)
            default: nil
            }
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            #expect(try await client.runtimeVersion() == RuntimeVersion(specVersion: 147, transactionVersion: 2))
            #expect(try await client.metadata() == Array("meta".utf8))
            #expect(try await client.genesisHash() == [UInt8](repeating: 0xab, count: 32))
            #expect(try await client.blockHash() == [0x01, 0xff])
            #expect(try await client.finalizedHead() == [0x02, 0x03])
            #expect(try await client.header(hash: [0x02, 0x03]) == BlockHeader(number: 0x1a2b, parentHash: [0x04, 0x05]))
            #expect(try await client.accountNextIndex("5Grw") == 42)
            // Params as Substrate expects them.
            #expect(node.requests("chain_getBlockHash").map { $0.params.map(\.text) } == [["0"], []])
            #expect(node.requests("chain_getHeader").first?.params.first?.string == "0x0203")
            #expect(node.requests("system_accountNextIndex").first?.params.first?.string == "5Grw")
            // One connection for everything.
            #expect(node.connectionCount == 1)
            await client.close()
        }
    }

    @Test("storage: a value is decoded from hex, null is nil")
    func storage() async throws {
        try await withNode({ request in
            guard request.method == "state_getStorage" else { return nil }
            return request.params.first?.string == "0x0102" ? .result("0xdeadbeef") : .result(nil)
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            #expect(try await client.storage(key: [1, 2]) == [0xde, 0xad, 0xbe, 0xef])
            #expect(try await client.storage(key: [9], at: [0xaa]) == nil)
            #expect(node.requests("state_getStorage").last?.params.map(\.text) == ["\"0x09\"", "\"0xaa\""])
            await client.close()
        }
    }

    @Test("a JSON-RPC error is returned at once, not retried")
    func serverErrorNotRetried() async throws {
        try await withNode({ _ in .error(code: -32000, message: "Client error", data: "Execution failed") }) { (node: ReplayNode) async throws in
            let other = try await ReplayNode.start { _ in .result("0x00") }
            let client = makeClient([node.url, other.url])
            let error = await rpcError { try await client.call("state_call", ["x"]) }
            #expect(error == .server(code: -32000, message: "Client error (Execution failed)"))
            #expect(node.requests.count == 1)
            #expect(other.requests.isEmpty)
            await client.close()
            await other.stop()
        }
    }

    @Test("a result of the wrong shape is invalidResponse, not retried")
    func invalidResult() async throws {
        try await withNode({ _ in .result("not hex") }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            guard case .invalidResponse? = await rpcError({ try await client.finalizedHead() }) else {
                Issue.record("expected invalidResponse")
                return
            }
            #expect(node.requests.count == 1)
            await client.close()
        }
    }

    @Test("concurrent calls share one connection and each gets its own answer")
    func concurrentCalls() async throws {
        try await withNode({ request in
            .delayed(.milliseconds(Int64.random(in: 0...30)), .result(request.params.first ?? nil))
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            let answers = try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
                for index in 0..<20 {
                    group.addTask { (index, try await client.call("echo", [.number(Double(index))])) }
                }
                var answers: [Int: JSONValue] = [:]
                for try await (index, answer) in group { answers[index] = answer }
                return answers
            }
            #expect(answers.count == 20)
            #expect(answers.allSatisfy { $0.value == .number(Double($0.key)) })
            #expect(node.connectionCount == 1)
            await client.close()
        }
    }

    @Test("close() fails a waiting call with .closed, and later calls too")
    func close() async throws {
        try await withNode({ _ in .noAnswer }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            let waiting = Task { await rpcError { try await client.call("hang") } }
            _ = await node.waitForRequest("hang")
            await client.close()
            #expect(await waiting.value == .closed)
            #expect(await rpcError { try await client.call("again") } == .closed)
        }
    }

    @Test("a cancelled caller returns at once and leaves nothing pending")
    func cancellation() async throws {
        try await withNode({ request in request.method == "hang" ? .noAnswer : .result(true) }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url], attemptTimeout: .seconds(30))
            let started = ContinuousClock.now
            let waiting = Task { await rpcError { try await client.call("hang") } }
            _ = await node.waitForRequest("hang")
            waiting.cancel()
            #expect(await waiting.value == .cancelled)
            #expect(ContinuousClock.now - started < .seconds(20))   // far below the 30 s attempt timeout
            // The connection is still fine.
            #expect(try await client.call("ping") == .bool(true))
            #expect(node.connectionCount == 1)
            await client.close()
        }
    }
}

