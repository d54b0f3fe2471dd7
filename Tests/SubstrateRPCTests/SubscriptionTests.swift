import Foundation
import Testing
@testable import SubstrateRPC
import SubstrateTestSupport

@Suite("Substrate RPC subscriptions and submission", .timeLimit(.minutes(1)))
struct SubscriptionTests {
    static let blockA = "0x" + String(repeating: "0a", count: 32)
    static let blockB = "0x" + String(repeating: "0b", count: 32)

    @Test("submitAndWatch: ready → inBlock → finalized, then the stream ends")
    func submitAndWatchFinalizes() async throws {
        try await withNode({ request in
            guard request.method == "author_submitAndWatchExtrinsic" else { return nil }
            return .subscription(id: "tx-1", notifications: [
                "future", "ready", ["broadcast": ["peer1"]], ["inBlock": .init(stringLiteral: Self.blockA)],
                ["finalized": .init(stringLiteral: Self.blockA)],
            ])
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            let stream = try await client.submitAndWatch(extrinsic: [0x01, 0x02])
            var statuses: [TransactionStatus] = []
            for try await status in stream { statuses.append(status) }
            let block = [UInt8](repeating: 0x0a, count: 32)
            #expect(statuses == [.future, .ready, .broadcast(["peer1"]), .inBlock(block), .finalized(block)])
            #expect(node.requests("author_submitAndWatchExtrinsic").first?.params.first?.string == "0x0102")
            // The node ended it; no unwatch needed.
            #expect(node.requests("author_unwatchExtrinsic").isEmpty)
            await client.close()
        }
    }

    @Test("a transaction that never finalizes: the consumer's own deadline wins, cancelling unwatches")
    func neverFinalizes() async throws {
        try await withNode({ request in
            guard request.method == "author_submitAndWatchExtrinsic" else { return nil }
            return .subscription(id: "tx-2", notifications: ["ready", ["inBlock": .init(stringLiteral: Self.blockA)]])
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            let stream = try await client.submitAndWatch(extrinsic: [0x03])
            // The consumer reports what it saw through a stream (it is cancelled before returning).
            let (seenStream, seen) = AsyncStream<TransactionStatus>.makeStream()
            let outcome = await withTaskGroup(of: String.self) { group in
                group.addTask {
                    defer { seen.finish() }
                    do {
                        for try await status in stream {
                            seen.yield(status)
                            if case .finalized = status { return "finalized" }
                        }
                        return "ended"
                    } catch {
                        return "error \(error)"
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(500))
                    return "deadline"
                }
                let first = await group.next() ?? "none"
                group.cancelAll()
                return first
            }
            #expect(outcome == "deadline")
            var statuses: [TransactionStatus] = []
            for await status in seenStream { statuses.append(status) }
            #expect(statuses == [.ready, .inBlock([UInt8](repeating: 0x0a, count: 32))])
            let unwatch = await node.waitForRequest("author_unwatchExtrinsic")
            #expect(unwatch?.params.map(\.text) == ["\"tx-2\""])
            // The connection is still usable.
            node.setScript { _ in .result(1) }
            #expect(try await client.call("x") == .number(1))
            #expect(node.connectionCount == 1)
            await client.close()
        }
    }

    @Test("an immediate rejection (1010) is thrown as .server")
    func submitRejected() async throws {
        try await withNode({ _ in .error(code: 1010, message: "Invalid Transaction", data: "Transaction is outdated") }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            let error = await rpcError { try await client.submitAndWatch(extrinsic: [0x04]) }
            #expect(error == .server(code: 1010, message: "Invalid Transaction (Transaction is outdated)"))
            #expect(node.requests.count == 1)
            await client.close()
        }
    }

    @Test("a submission that may have reached a node is not sent to another one")
    func submissionNotRepeatedAfterWrite() async throws {
        try await withNode({ _ in .closeConnection }) { (dropping: ReplayNode) async throws in
            let other = try await ReplayNode.start { _ in .subscription(id: "tx-3", notifications: ["ready"]) }
            let client = makeClient([dropping.url, other.url])
            let error = await rpcError { try await client.submitAndWatch(extrinsic: [0x05]) }
            guard case .outcomeUnknown(let method, _)? = error else {
                Issue.record("expected outcomeUnknown, got \(String(describing: error))")
                return
            }
            #expect(method == "author_submitAndWatchExtrinsic")
            #expect(dropping.requests.count == 1)
            #expect(other.requests.isEmpty)
            await client.close()
            await other.stop()
        }
    }

    @Test("a submission that timed out after being written is not repeated either")
    func submissionNotRepeatedAfterTimeout() async throws {
        try await withNode({ _ in .noAnswer }) { (hanging: ReplayNode) async throws in
            let client = makeClient([hanging.url, hanging.url], attemptTimeout: .seconds(2))
            let error = await rpcError { try await client.submit(extrinsic: [0x06]) }
            guard case .outcomeUnknown("author_submitExtrinsic", _)? = error else {
                Issue.record("expected outcomeUnknown, got \(String(describing: error))")
                return
            }
            #expect(hanging.requests.count == 1)
            await client.close()
        }
    }

    @Test("a submission is retried while it was not written (node unreachable)")
    func submissionRetriedBeforeWrite() async throws {
        try await withNode({ _ in .subscription(id: "tx-4", notifications: ["ready", ["finalized": .init(stringLiteral: Self.blockB)]]) }) { (node: ReplayNode) async throws in
            let client = makeClient([try closedPortURL(), node.url])
            var statuses: [TransactionStatus] = []
            for try await status in try await client.submitAndWatch(extrinsic: [0x07]) { statuses.append(status) }
            #expect(statuses == [.ready, .finalized([UInt8](repeating: 0x0b, count: 32))])
            await client.close()
        }
    }

    @Test("finalized heads: decoded; a dropped connection ends the stream with an error")
    func finalizedHeadsThenDrop() async throws {
        try await withNode({ request in
            guard request.method == "chain_subscribeFinalizedHeads" else { return .result(true) }
            return .subscription(id: "heads", notifications: [
                ["number": "0x10", "parentHash": .init(stringLiteral: Self.blockA)],
                ["number": "0x11", "parentHash": .init(stringLiteral: Self.blockB)],
            ], then: .closeConnection)
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            let stream = try await client.subscribeFinalizedHeads()
            var headers: [BlockHeader] = []
            var failure: (any Error)?
            do {
                for try await header in stream { headers.append(header) }
            } catch {
                failure = error
            }
            #expect(headers.map(\.number) == [0x10, 0x11])
            #expect(headers.first?.parentHash == [UInt8](repeating: 0x0a, count: 32))
            if case .transport? = failure as? RPCError {} else { Issue.record("expected a transport error, got \(String(describing: failure))") }
            // The next request reconnects.
            #expect(try await client.call("system_health") == .bool(true))
            #expect(node.connectionCount == 2)
            await client.close()
        }
    }

    @Test("generic subscribe: raw values; a consumer that stops and drops the stream unsubscribes")
    func genericSubscribeDropped() async throws {
        try await withNode({ request in
            guard request.method == "state_subscribeStorage" else { return nil }
            return .subscription(id: "s1", notifications: ["one", "two", "three"], interval: .milliseconds(50))
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            // The stream lives only inside the consumer: breaking out and returning drops it.
            let consumer = Task {
                var values: [JSONValue] = []
                for try await value in try await client.subscribe("state_subscribeStorage", [["0x00"]],
                                                                  unsubscribe: "state_unsubscribeStorage") {
                    values.append(value)
                    if values.count == 2 { break }
                }
                return values
            }
            #expect(try await consumer.value == ["one", "two"])
            let unsubscribe = await node.waitForRequest("state_unsubscribeStorage")
            #expect(unsubscribe?.params.first?.string == "s1")
            await client.close()
        }
    }

    @Test("generic subscribe: cancelling the consuming task unsubscribes")
    func genericSubscribeCancelled() async throws {
        try await withNode({ request in
            guard request.method == "chain_subscribeAllHeads" else { return nil }
            return .subscription(id: "s2", notifications: ["one"])
        }) { (node: ReplayNode) async throws in
            let client = makeClient([node.url])
            let stream = try await client.subscribe("chain_subscribeAllHeads", unsubscribe: "chain_unsubscribeAllHeads")
            let consumer = Task {
                var count = 0
                for try await _ in stream { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(200))
            consumer.cancel()
            #expect(try await consumer.value == 1)
            let unsubscribe = await node.waitForRequest("chain_unsubscribeAllHeads")
            #expect(unsubscribe?.params.first?.string == "s2")
            await client.close()
        }
    }
}
