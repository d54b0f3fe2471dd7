/// Typed wrappers of the Substrate RPC methods the chain layer needs. Byte strings travel as
/// "0x…" hex; a result of the wrong shape is ``RPCError/invalidResponse(_:)`` (never retried:
/// another node would most likely answer the same).
extension SubstrateRPCClient {
    /// `state_getMetadata`: the SCALE-encoded runtime metadata (with its "meta" magic prefix).
    public func metadata(at block: [UInt8]? = nil) async throws(RPCError) -> [UInt8] {
        try Self.bytes(await call("state_getMetadata", block.map { [.string(Hex.encode($0))] } ?? []), "state_getMetadata")
    }

    /// `state_getRuntimeVersion`.
    public func runtimeVersion(at block: [UInt8]? = nil) async throws(RPCError) -> RuntimeVersion {
        try RuntimeVersion(json: await call("state_getRuntimeVersion", block.map { [.string(Hex.encode($0))] } ?? []))
    }

    /// `chain_getBlockHash`: the hash of block `number`, or of the best block when `nil`.
    /// A block the node does not know (yet) is `.invalidResponse`.
    public func blockHash(number: UInt64? = nil) async throws(RPCError) -> [UInt8] {
        let result = try await call("chain_getBlockHash", number.map { [.number(Double($0))] } ?? [])
        if result.isNull { throw .invalidResponse("chain_getBlockHash: no block \(number.map(String.init) ?? "best")") }
        return try Self.bytes(result, "chain_getBlockHash")
    }

    /// The hash of block 0 (signed extrinsics commit to it).
    public func genesisHash() async throws(RPCError) -> [UInt8] {
        try await blockHash(number: 0)
    }

    /// `chain_getFinalizedHead`.
    public func finalizedHead() async throws(RPCError) -> [UInt8] {
        try Self.bytes(await call("chain_getFinalizedHead"), "chain_getFinalizedHead")
    }

    /// `chain_getHeader` of block `hash` (the best block when `nil`).
    public func header(hash: [UInt8]? = nil) async throws(RPCError) -> BlockHeader {
        let result = try await call("chain_getHeader", hash.map { [.string(Hex.encode($0))] } ?? [])
        if result.isNull { throw .invalidResponse("chain_getHeader: unknown block \(hash.map { Hex.encode($0) } ?? "best")") }
        return try BlockHeader(json: result)
    }

    /// `state_getStorage`: the raw value under `key` at block `at` (best when `nil`); `nil` when empty.
    public func storage(key: [UInt8], at block: [UInt8]? = nil) async throws(RPCError) -> [UInt8]? {
        var params: [JSONValue] = [.string(Hex.encode(key))]
        if let block { params.append(.string(Hex.encode(block))) }
        let result = try await call("state_getStorage", params)
        if result.isNull { return nil }
        return try Self.bytes(result, "state_getStorage")
    }

    /// `system_accountNextIndex`: the nonce for the next extrinsic of `account` (SS58), pool included.
    public func accountNextIndex(_ account: String) async throws(RPCError) -> UInt64 {
        let result = try await call("system_accountNextIndex", [.string(account)])
        guard let nonce = result.uint64Value else { throw .invalidResponse("system_accountNextIndex: \(result)") }
        return nonce
    }

    /// `chain_subscribeFinalizedHeads`.
    public func subscribeFinalizedHeads() async throws(RPCError) -> AsyncThrowingStream<BlockHeader, any Error> {
        try await subscribe("chain_subscribeFinalizedHeads", [], unsubscribe: "chain_unsubscribeFinalizedHeads", repeatable: true) {
            value throws(RPCError) in (try BlockHeader(json: value), .more)
        }
    }

    /// `chain_subscribeNewHeads` (best blocks, as the relay's twin event listener uses).
    public func subscribeNewHeads() async throws(RPCError) -> AsyncThrowingStream<BlockHeader, any Error> {
        try await subscribe("chain_subscribeNewHeads", [], unsubscribe: "chain_unsubscribeNewHeads", repeatable: true) {
            value throws(RPCError) in (try BlockHeader(json: value), .more)
        }
    }

    /// `author_submitAndWatchExtrinsic`: submits a signed extrinsic and streams its statuses.
    /// The stream finishes after a final status (``TransactionStatus/isFinal``), and with an
    /// error when the connection drops; it never times out by itself (wrap it in your own
    /// deadline). Cancelling the consumer sends `author_unwatchExtrinsic`.
    ///
    /// A rejection (e.g. 1010 "Invalid Transaction") is thrown as `.server`. Submission is not
    /// repeated once it may have reached a node: see ``RPCError/outcomeUnknown(method:reason:)``.
    public func submitAndWatch(extrinsic: [UInt8]) async throws(RPCError) -> AsyncThrowingStream<TransactionStatus, any Error> {
        try await subscribe("author_submitAndWatchExtrinsic", [.string(Hex.encode(extrinsic))],
                            unsubscribe: "author_unwatchExtrinsic", repeatable: false) { value throws(RPCError) in
            let status = try TransactionStatus(json: value)
            return (status, status.isFinal ? .ended : .more)
        }
    }

    /// `author_submitExtrinsic`: submits without watching; returns the extrinsic hash. Same
    /// no-repeat rule as ``submitAndWatch(extrinsic:)``.
    public func submit(extrinsic: [UInt8]) async throws(RPCError) -> [UInt8] {
        try Self.bytes(await callOnce("author_submitExtrinsic", [.string(Hex.encode(extrinsic))]), "author_submitExtrinsic")
    }

    private static func bytes(_ value: JSONValue, _ method: String) throws(RPCError) -> [UInt8] {
        guard let text = value.stringValue, let bytes = Hex.decode(text) else {
            throw .invalidResponse("\(method): expected hex, got \(value.jsonText.prefix(80))")
        }
        return bytes
    }
}
