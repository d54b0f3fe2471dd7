import Foundation
import RMBTestSupport
import SubstrateTestSupport

/// A scripted tfchain node on top of ``ReplayNode``: storage in a dictionary, blocks numbered
/// 0…`best`, `update_twin` submissions recorded and answered with scripted statuses, and a
/// block body that contains the submitted extrinsic at index 1 (the events fixture puts its
/// `TwinUpdated` there).
final class FakeChain: @unchecked Sendable {
    struct State {
        var storage: [String: String] = [:]              // key hex → value hex (best block)
        var eventsByBlock: [String: String] = [:]         // block hash hex → System.Events hex
        var submitted: [String] = []
        var statuses: [NodeJSON] = []
        var finalizedHeads: [Int] = []
        var best = 100
        var nonce = 5
        var rejectSubmission = false
        var metadataOverride: String?
    }

    private let lock = NSLock()
    private var state = State()
    private(set) var node: ReplayNode?

    static func blockHash(_ number: Int) -> String { "0x" + String(format: "%064x", 0xb10c0000 + number) }
    static let specVersion = 147
    static let transactionVersion = 2

    func with<T>(_ body: (inout State) -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body(&state)
    }

    func start() async throws -> ReplayNode {
        let metadata = "0x" + (try Fixtures.data("tfchain-metadata-v14.scale")).map { String(format: "%02x", $0) }.joined()
        let node = try await ReplayNode.start { [self] request in reply(to: request, metadata: metadata) }
        self.node = node
        return node
    }

    private func reply(to request: ReplayRequest, metadata: String) -> ReplayReply? {
        switch request.method {
        case "state_getMetadata":
            return .result(NodeJSON(stringLiteral: with { $0.metadataOverride } ?? metadata))
        case "state_getRuntimeVersion":
            return .result(["specVersion": NodeJSON(integerLiteral: Self.specVersion),
                            "transactionVersion": NodeJSON(integerLiteral: Self.transactionVersion)])
        case "chain_getBlockHash":
            let number = request.params.first?.int ?? with { $0.best }
            return .result(NodeJSON(stringLiteral: Self.blockHash(number)))
        case "chain_getFinalizedHead":
            return .result(NodeJSON(stringLiteral: Self.blockHash(with { $0.best } - 2)))
        case "chain_getHeader":
            let hash = request.params.first?.string ?? Self.blockHash(with { $0.best })
            let number = Int(hash.suffix(8), radix: 16).map { $0 - 0xb10c0000 } ?? 0
            return .result(["number": NodeJSON(stringLiteral: "0x" + String(number, radix: 16)),
                            "parentHash": NodeJSON(stringLiteral: Self.blockHash(max(0, number - 1)))])
        case "system_accountNextIndex":
            return .result(NodeJSON(integerLiteral: with { $0.nonce }))
        case "state_getStorage":
            guard let key = request.params.first?.string else { return .error(code: -32602, message: "no key") }
            if request.params.count > 1, let block = request.params[1].string {
                if let events = with({ $0.eventsByBlock[block] }), key.hasPrefix("0x26aa394eea5630e07c48ae0c9558cef7") {
                    return .result(NodeJSON(stringLiteral: events))
                }
            }
            return .result(with { $0.storage[key] }.map { NodeJSON(stringLiteral: $0) } ?? nil)
        case "author_submitAndWatchExtrinsic":
            if with({ $0.rejectSubmission }) {
                return .error(code: 1010, message: "Invalid Transaction", data: "Transaction has a bad signature")
            }
            let statuses: [NodeJSON] = with { state in
                if let hex = request.params.first?.string { state.submitted.append(hex) }
                return state.statuses
            }
            return .subscription(id: "tx\(request.sequence)", notifications: statuses)
        case "chain_getBlock":
            let submitted = with { $0.submitted.last } ?? "0x00"
            return .result(["block": ["header": ["number": "0x1"], "extrinsics": ["0x280403000b00", NodeJSON(stringLiteral: submitted)]]])
        case "chain_subscribeFinalizedHeads":
            let heads = with { $0.finalizedHeads }.map { number -> NodeJSON in
                ["number": NodeJSON(stringLiteral: "0x" + String(number, radix: 16)),
                 "parentHash": NodeJSON(stringLiteral: Self.blockHash(max(0, number - 1)))]
            }
            return .subscription(id: "heads\(request.sequence)", notifications: heads)
        default:
            return nil
        }
    }
}
