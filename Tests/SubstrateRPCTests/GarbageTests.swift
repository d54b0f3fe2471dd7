import Foundation
import Testing
@testable import SubstrateRPC
import SubstrateTestSupport

@Suite("Substrate RPC against a misbehaving node", .timeLimit(.minutes(1)))
struct GarbageTests {
    @Test("non-JSON, binary, wrong ids, batches and notifications for nobody are ignored")
    func garbageIsIgnored() async throws {
        try await withNode({ request in
            .sequence([
                .raw("not json at all"),
                .rawBinary([0xff, 0x00, 0x01]),
                .raw("{\"jsonrpc\":\"2.0\",\"id\":99999,\"result\":\"0xdead\"}"),
                .raw("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"result\":1}"),
                .raw("{\"jsonrpc\":\"2.0\",\"id\":-1,\"result\":1}"),
                .raw("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":1}"),
                .raw("[1,2,3]"),
                .raw("\"just a string\""),
                .raw("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"subscription\":\"nobody\",\"result\":1}}"),
                .raw("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"subscription\":[1],\"result\":1}}"),
                .raw("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"no id\"}}"),
                .raw("{" + String(repeating: "[", count: 5000)),
                .result("0x0102"),
            ])
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            #expect(try await client.finalizedHead() == [0x01, 0x02])
            #expect(try await client.finalizedHead() == [0x01, 0x02])
            #expect(node.connectionCount == 1)
            await client.close()
        }
    }

    @Test("an answer with neither result nor error is invalidResponse")
    func answerWithoutResult() async throws {
        try await withNode({ request in .raw("{\"jsonrpc\":\"2.0\",\"id\":\(request.id.text)}") }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            guard case .invalidResponse? = await rpcError({ try await client.call("m") }) else {
                Issue.record("expected invalidResponse")
                return
            }
            await client.close()
        }
    }

    @Test("an answer with the wrong id only: the attempt times out and is retried")
    func wrongIDOnly() async throws {
        try await withNode({ request in
            request.connection == 1 ? .raw("{\"jsonrpc\":\"2.0\",\"id\":424242,\"result\":1}") : .result(2)
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url], attemptTimeout: .seconds(1))
            #expect(try await client.call("m") == .number(2))
            #expect(node.connectionCount == 2)
            await client.close()
        }
    }

    @Test("undecodable notifications end the typed stream with invalidResponse and unsubscribe")
    func badNotification() async throws {
        try await withNode({ request in
            guard request.method == "chain_subscribeNewHeads" else { return nil }
            return .subscription(id: "h", notifications: [["number": "0x01", "parentHash": "0x00"], ["number": "zz"]])
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            var numbers: [UInt64] = []
            var failure: (any Error)?
            do {
                for try await header in try await client.subscribeNewHeads() { numbers.append(header.number) }
            } catch {
                failure = error
            }
            #expect(numbers == [1])
            if case .invalidResponse? = failure as? RPCError {} else { Issue.record("got \(String(describing: failure))") }
            #expect(await node.waitForRequest("chain_unsubscribeNewHeads")?.params.first?.string == "h")
            await client.close()
        }
    }
}
