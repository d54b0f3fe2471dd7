import Logging
import RMBIdentity
import Substrate
import SubstrateRPC
import TwinDirectory

/// The result of a finalized `update_twin`: where it landed and the record the chain emitted.
public struct TwinUpdateReceipt: Sendable {
    public let extrinsicHash: [UInt8]
    /// The finalized block holding it; nil when the node dropped the transaction watch and the
    /// change was confirmed by reading the twin record instead.
    public let blockHash: [UInt8]?
    /// The twin as the `TwinUpdated` event reports it (the chain's view after the update).
    public let record: TwinRecord
}

extension TFChainClient {
    /// Mortal transactions die after this many blocks (≈ 6.4 min at 6 s blocks) if not included,
    /// so a stuck submission cannot be replayed later.
    static let mortalityPeriod: UInt64 = 64

    /// Submits `TfgridModule.update_twin(relay, pk)` signed by `signer`, waits until it is
    /// finalized and checks the block's events (twins.md §3).
    ///
    /// Both fields are replaced on chain; pass the current value to keep one. The wait is
    /// bounded by `finalizationTimeout` — a node that never finalizes yields
    /// ``TFChainError/notFinalized(waited:lastStatus:)``, never a hang.
    public func updateTwin(
        signer: some ExtrinsicSigner, relayField: String?, publicKey: [UInt8]?,
        finalizationTimeout: Duration = .seconds(120)
    ) async throws(TFChainError) -> TwinUpdateReceipt {
        if let relayField, !RelayAddress.isValidChainRelayField(relayField) {
            throw .invalidRelayField("'\(relayField)' fails tfchain's check (host names only: [A-Za-z0-9._-], joined with _, no ports or schemes)")
        }
        let (version, runtime) = try await runtime()
        let account: AccountID
        do { account = try AccountID(bytes: signer.accountID) } catch { throw .node("signer: \(error)") }
        let genesis = try await node { () async throws(RPCError) in try await rpc.genesisHash() }
        let nonce = try await node { () async throws(RPCError) in try await rpc.accountNextIndex(account.ss58) }
        let checkpoint = try await node { () async throws(RPCError) in try await rpc.finalizedHead() }
        let checkpointHeader = try await node { () async throws(RPCError) in try await rpc.header(hash: checkpoint) }
        let era = Era.mortal(period: Self.mortalityPeriod, current: checkpointHeader.number)
        let birthHash: [UInt8]
        let birth = era.birthBlock(current: checkpointHeader.number)
        if birth == checkpointHeader.number {
            birthHash = checkpoint
        } else {
            birthHash = try await node { () async throws(RPCError) in try await rpc.blockHash(number: birth) }
        }
        let values = SignedExtensionValues(
            specVersion: version.specVersion, transactionVersion: version.transactionVersion, genesisHash: genesis,
            era: era, checkpointBlockHash: birthHash, nonce: nonce)
        let call = runtime.updateTwinCall(relayField: relayField.map { Array($0.utf8) }, publicKey: publicKey)
        let extrinsic: SignedExtrinsic
        do { extrinsic = try runtime.extrinsicBuilder.sign(call: call, values: values, signer: signer) } catch {
            throw .runtimeMismatch("cannot build update_twin: \(error)")
        }
        logger.info("submitting update_twin", metadata: [
            "account": "\(account.ss58)", "nonce": "\(nonce)", "relay": "\(relayField ?? "none")",
            "extrinsic": "\(extrinsic.hashHexString)",
        ])
        let blockHash: [UInt8]
        do {
            blockHash = try await submitAndAwaitFinalization(extrinsic, timeout: finalizationTimeout)
        } catch {
            guard case .outcomeUnknown(let detail) = error else { throw error }
            // The node took the transaction and the connection ended: whether it landed is
            // read from the record, not guessed from the lost watch.
            logger.warning("lost the transaction watch; reading the twin record to learn the outcome", metadata: ["reason": "\(detail)"])
            let window = max(.seconds(2), min(.seconds(60), finalizationTimeout))
            if let record = try await recordShowing(relayField: relayField, publicKey: publicKey, account: account, within: window) {
                logger.info("update_twin landed (seen in the twin record)", metadata: ["twin": "\(record.id)"])
                return TwinUpdateReceipt(extrinsicHash: extrinsic.hash, blockHash: nil, record: record)
            }
            throw .outcomeUnknown("\(detail); after \(window) the twin record does not show the change. The transaction " +
                                  "\(extrinsic.hashHexString) may still land until its mortality ends (\(Self.mortalityPeriod) blocks); " +
                                  "check with `rmb twin show` before submitting again")
        }
        return try await receipt(for: extrinsic, in: blockHash, runtime: runtime)
    }

    /// The signer's twin record once it shows `relayField` and `publicKey` (those given), read
    /// every 2 s on ``clock`` for at most `window`; nil when it never did.
    private func recordShowing(relayField: String?, publicKey: [UInt8]?, account: AccountID, within window: Duration) async throws(TFChainError) -> TwinRecord? {
        var waited = Duration.zero
        while true {
            do {
                if let id = try await directory.twinID(account: account), let record = try await directory.record(id: id),
                   relayField.map({ Array($0.utf8) == record.relayField }) ?? true,
                   publicKey.map({ $0 == record.publicKey }) ?? true {
                    return record
                }
            } catch {
                logger.debug("twin record look-up failed", metadata: ["error": "\(error)"])
            }
            guard waited < window else { return nil }
            do { try await clock.sleep(for: .seconds(2), tolerance: nil) } catch { return nil }
            waited += .seconds(2)
        }
    }

    /// Watches the transaction until it is finalized, failing on any terminal status or timeout.
    private func submitAndAwaitFinalization(_ extrinsic: SignedExtrinsic, timeout: Duration) async throws(TFChainError) -> [UInt8] {
        let statuses: AsyncThrowingStream<TransactionStatus, any Error>
        do { statuses = try await rpc.submitAndWatch(extrinsic: extrinsic.bytes) } catch {
            if case .server = error { throw .transactionRejected(error.description) }
            throw .node(error.description)
        }
        let outcome = LastStatus()
        let result: Result<[UInt8], TFChainError> = await withTaskGroup(of: Result<[UInt8], TFChainError>?.self) { group in
            group.addTask {
                do {
                    for try await status in statuses {
                        await outcome.set(status)
                        switch status {
                        case .finalized(let hash): return .success(hash)
                        case .invalid, .dropped, .usurped:
                            return .failure(.transactionRejected("the node reported the transaction \(status)"))
                        case .finalityTimeout:
                            return .failure(.notFinalized(waited: timeout, lastStatus: "finality timeout"))
                        case .future, .ready, .broadcast, .inBlock, .retracted:
                            continue
                        }
                    }
                    return .failure(.outcomeUnknown("the node ended the transaction watch without a final status"))
                } catch {
                    return .failure(.outcomeUnknown("the node accepted the transaction, then the watch failed: \(error)"))
                }
            }
            group.addTask { [clock] in
                try? await clock.sleep(for: timeout, tolerance: nil)
                return nil   // nil = timed out
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            return .failure(.notFinalized(waited: timeout, lastStatus: await outcome.description))
        }
        return try result.get()
    }

    /// Finds our extrinsic in the finalized block and requires its `TwinUpdated` event.
    private func receipt(for extrinsic: SignedExtrinsic, in blockHash: [UInt8], runtime: TFChainRuntime) async throws(TFChainError) -> TwinUpdateReceipt {
        let block = try await node { () async throws(RPCError) in try await rpc.call("chain_getBlock", [.string(SubstrateRPC.Hex.encode(blockHash))]) }
        guard let bodies = block["block"]?["extrinsics"]?.arrayValue else {
            throw .node("chain_getBlock returned no extrinsics for \(SubstrateRPC.Hex.encode(blockHash))")
        }
        guard let index = bodies.firstIndex(where: { $0.stringValue.flatMap(SubstrateRPC.Hex.decode) == extrinsic.bytes }) else {
            throw .missingEvent("extrinsic \(extrinsic.hashHexString) is not in finalized block \(SubstrateRPC.Hex.encode(blockHash))")
        }
        guard let raw = try await storageValue(runtime.systemEventsKey, at: blockHash) else {
            throw .missingEvent("block \(SubstrateRPC.Hex.encode(blockHash)) has no events")
        }
        let events: [DecodedEvent]
        do { events = try runtime.events.decode(raw) } catch { throw .runtimeMismatch("events of \(SubstrateRPC.Hex.encode(blockHash)): \(error)") }
        let ours = events.filter { $0.phase == .applyExtrinsic(UInt32(index)) }
        if let failure = ours.first(where: { $0.is(pallet: "System", event: "ExtrinsicFailed") }) {
            throw .extrinsicFailed(DispatchErrorDescription.describe(failure.fields, metadata: runtime.metadata))
        }
        guard let updated = ours.first(where: { $0.is(pallet: TFChainRuntime.pallet, event: "TwinUpdated") }) else {
            throw .missingEvent("extrinsic \(extrinsic.hashHexString) emitted \(ours.map { "\($0.palletName).\($0.eventName)" })")
        }
        let record: TwinRecord
        do { record = try TwinRecord(scale: updated.fields) } catch { throw .runtimeMismatch("TwinUpdated: \(error)") }
        logger.info("update_twin finalized", metadata: ["block": "\(SubstrateRPC.Hex.encode(blockHash))", "twin": "\(record.id)"])
        return TwinUpdateReceipt(extrinsicHash: extrinsic.hash, blockHash: blockHash, record: record)
    }

    private func storageValue(_ key: [UInt8], at block: [UInt8]) async throws(TFChainError) -> [UInt8]? {
        try await node { () async throws(RPCError) in try await rpc.storage(key: key, at: block) }
    }
}

/// The last transaction status seen, for the timeout message.
private actor LastStatus {
    private var status: TransactionStatus?
    func set(_ status: TransactionStatus) { self.status = status }
    var description: String { status.map { "\($0)" } ?? "no status received" }
}
