import Foundation
import Logging
import Testing
import RMBTestSupport
@testable import SubstrateRPC
import SubstrateTestSupport

/// A client on `urls` with a quiet logger (set SUBSTRATE_RPC_TEST_DEBUG to see its logs).
func makeClient(_ urls: [String], attemptTimeout: Duration = .seconds(5)) -> SubstrateRPCClient {
    var logger = Logger(label: "test.substrate-rpc")
    logger.logLevel = ProcessInfo.processInfo.environment["SUBSTRATE_RPC_TEST_DEBUG"] != nil ? .debug : .critical
    return SubstrateRPCClient(urls: urls, attemptTimeout: attemptTimeout, logger: logger)
}

/// A loopback URL nobody listens on.
func closedPortURL() throws -> String {
    "ws://127.0.0.1:\(try freeLoopbackPort())"
}

/// Starts a replay node, runs `body`, stops the node (also when `body` throws).
func withNode<T>(_ script: @escaping ReplayScript, _ body: (ReplayNode) async throws -> T) async throws -> T {
    let node = try await ReplayNode.start(script: script)
    do {
        let result = try await body(node)
        await node.stop()
        return result
    } catch {
        await node.stop()
        throw error
    }
}

/// Runs `body` and returns its error, or nil when it succeeded (any other error is an issue).
func rpcError<T>(_ body: () async throws -> T) async -> RPCError? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        Issue.record("not an RPCError: \(error)")
        return nil
    }
}
