import NIOSSL
import Foundation
import RMBTestSupport

/// A scripted tfchain node (used by the TFChain and CLI tests) on top of ``ReplayNode``: storage in a dictionary, blocks numbered
/// 0…`best`, `update_twin` submissions recorded and answered with scripted statuses, and a
/// block body that contains the submitted extrinsic at index 1 (the events fixture puts its
/// `TwinUpdated` there).
public final class FakeTFChain: @unchecked Sendable {
    public struct State {
        public var storage: [String: String] = [:]              // key hex → value hex (best block)
        public var eventsByBlock: [String: String] = [:]         // block hash hex → System.Events hex
        public var submitted: [String] = []
        public var statuses: [NodeJSON] = []
        public var finalizedHeads: [Int] = []
        public var best = 100
        public var nonce = 5
        public var rejectSubmission = false
        public var metadataOverride: String?
    }

    private let lock = NSLock()
    private var state = State()
    public private(set) var node: ReplayNode?

    public init() {}

    public static func blockHash(_ number: Int) -> String { "0x" + String(format: "%064x", 0xb10c0000 + number) }
    public static let specVersion = 147
    public static let transactionVersion = 2

    public func with<T>(_ body: (inout State) -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body(&state)
    }

    /// Puts the three twins of vectors/twins.json (ids 7, 41, 55) in storage, with their
    /// account → id entries, exactly as the vectors encode them.
    public func storeVectorTwins() throws {
        let root = try Fixtures.json("vectors/twins.json")
        guard let twins = root["twins"] as? [[String: Any]] else { throw Fixtures.FixtureError.missing("twins") }
        with { state in
            for twin in twins {
                guard let key = twin["storage_key_Twins"] as? String, let value = twin["scale_twin_hex"] as? String,
                      let accountKey = twin["storage_key_TwinIdByAccountID"] as? String,
                      let id = twin["scale_twin_id_value_hex"] as? String else { continue }
                state.storage["0x" + key] = "0x" + value
                state.storage["0x" + accountKey] = "0x" + id
            }
        }
    }

    /// System.Events of a block holding `TwinUpdated(twin 7)` for extrinsic 1 (an independent
    /// encoder's bytes: Tests/Fixtures/tfchain/events-twin-updated.hex), as "0x…".
    public static func twinUpdatedEvents() throws -> String {
        let text = String(decoding: try Fixtures.data("tfchain/events-twin-updated.hex"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.hasPrefix("0x") ? text : "0x" + text
    }

    /// Scripts a successful update: ready → inBlock → finalized in block `number`, whose
    /// events are ``twinUpdatedEvents()``.
    public func finalizeUpdates(inBlock number: Int) throws {
        let hash = Self.blockHash(number)
        let events = try Self.twinUpdatedEvents()
        with { state in
            state.statuses = ["ready", ["inBlock": NodeJSON(stringLiteral: hash)], ["finalized": NodeJSON(stringLiteral: hash)]]
            state.eventsByBlock[hash] = events
        }
    }

    public func start(tls: TLSConfiguration? = nil) async throws -> ReplayNode {
        let metadata = "0x" + (try Fixtures.data("tfchain-metadata-v14.scale")).map { String(format: "%02x", $0) }.joined()
        let node = try await ReplayNode.start(tls: tls) { [self] request in reply(to: request, metadata: metadata) }
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
