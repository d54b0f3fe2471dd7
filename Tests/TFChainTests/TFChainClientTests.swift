import Foundation
import RMBCrypto
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import Substrate
import SubstrateRPC
import SubstrateTestSupport
import TFChain
import Testing
import TwinDirectory

/// The chain layer end to end through the real JSON-RPC client against a scripted node.
@Suite struct TFChainClientTests {
    static func dev() throws -> Identity {
        try Identity(parsing: "bottom drive obey lake curtain smoke basket hold race lonely fit walk", keyType: .sr25519)
    }

    /// A fake chain holding the three twins of twins.json at the best block.
    static func chainWithVectorTwins() async throws -> (FakeTFChain, TFChainClient) {
        let fake = FakeTFChain()
        try fake.storeVectorTwins()
        let node = try await fake.start()
        return (fake, TFChainClient(rpc: SubstrateRPCClient(urls: [node.url], attemptTimeout: .seconds(15))))
    }

    @Test func directoryReadsTwinsFromStorage() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        let directory = client.directory
        let dev = try #require(try await directory.twin(id: 7))
        #expect(dev.relays.map(\.host) == ["relay.example.com"])
        #expect(dev.e2ePublicKey?.count == 33)
        let alpha = try #require(try await directory.twin(id: 41))
        #expect(alpha.relays.map(\.host) == ["r1.example.com", "r2.example.org"])
        #expect(try await directory.twin(id: 8) == nil)
        #expect(try await directory.twinID(account: try Self.dev().account) == 7)
        #expect(try await directory.twinID(account: try AccountID(bytes: [UInt8](repeating: 9, count: 32))) == nil)
        await client.close()
        await fake.node?.stop()
    }

    @Test func runtimeFactsComeFromTheNodesMetadata() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        let (version, runtime) = try await client.runtime()
        #expect(version.specVersion == UInt32(FakeTFChain.specVersion))
        #expect(runtime.updateTwin.palletIndex == 25)
        #expect(runtime.updateTwin.callIndex == 18)
        let call = runtime.updateTwinCall(relayField: Array("ab.example.com".utf8), publicKey: [2] + [UInt8](repeating: 1, count: 32))
        #expect(Array(call.prefix(4)) == [25, 18, 1, 14 << 2])
        let expectedLength = 2 + 1 + 1 + 14 + 1 + 1 + 33
        #expect(call.count == expectedLength)
        // Cached per spec version: a second call fetches no new metadata.
        _ = try await client.runtime()
        #expect(fake.node?.requests("state_getMetadata").count == 1)
        await client.close()
        await fake.node?.stop()
    }

    @Test func incompatibleMetadataIsARuntimeMismatch() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        fake.with { $0.metadataOverride = "0x6d657461" + "0e" + "00" }
        await #expect(throws: TFChainError.self) { _ = try await client.runtime() }
        await client.close()
        await fake.node?.stop()
    }

    @Test func updateTwinIsSubmittedWatchedAndConfirmedByItsEvent() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        let finalized = FakeTFChain.blockHash(103)
        try fake.finalizeUpdates(inBlock: 103)
        let dev = try Self.dev()
        let receipt = try await client.updateTwin(
            signer: IdentityExtrinsicSigner(dev), relayField: "relay.example.com", publicKey: dev.e2ePublicKey,
            finalizationTimeout: .seconds(10))
        #expect(receipt.record.id == 7)
        #expect(receipt.record.relayText == "relay.example.com")
        #expect(receipt.blockHash == [UInt8](testHex: String(finalized.dropFirst(2))))

        // The submitted extrinsic: signed v4, MultiAddress::Id(dev), sr25519, ending with our call.
        let submitted = try #require(fake.with { $0.submitted.first })
        let bytes = [UInt8](testHex: String(submitted.dropFirst(2)))
        var decoder = ScaleDecoder(bytes)
        let length = try decoder.decodeCompact()
        #expect(Int(length) == decoder.remaining)
        #expect(try decoder.decodeU8() == 0x84)
        #expect(try decoder.decodeU8() == 0x00)
        #expect(try decoder.readBytes(32) == dev.account.bytes)
        #expect(try decoder.decodeU8() == 0x01)
        let (_, runtime) = try await client.runtime()
        let call = runtime.updateTwinCall(relayField: Array("relay.example.com".utf8), publicKey: dev.e2ePublicKey)
        #expect(Array(bytes.suffix(call.count)) == call)
        #expect(receipt.extrinsicHash == (try Sodium.blake2b(bytes, outputLength: 32)))
        await client.close()
        await fake.node?.stop()
    }

    @Test func aNodeThatNeverFinalizesIsBoundedByTheTimeout() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        fake.with { $0.statuses = ["ready", ["inBlock": NodeJSON(stringLiteral: FakeTFChain.blockHash(101))]] }
        let dev = try Self.dev()
        let started = ContinuousClock.now
        do {
            _ = try await client.updateTwin(signer: IdentityExtrinsicSigner(dev), relayField: "relay.example.com",
                                            publicKey: dev.e2ePublicKey, finalizationTimeout: .milliseconds(600))
            Issue.record("an unfinalized update must fail")
        } catch {
            guard case .notFinalized(_, let last) = error else { Issue.record("unexpected \(error)"); return }
            #expect(last.contains("inBlock"))
        }
        #expect(ContinuousClock.now - started < .seconds(30))   // generous: parallel suite on two cores
        await client.close()
        await fake.node?.stop()
    }

    @Test func rejectedAndInvalidTransactionsFailClearly() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        let dev = try Self.dev()
        fake.with { $0.rejectSubmission = true }
        await #expect { _ = try await client.updateTwin(signer: IdentityExtrinsicSigner(dev), relayField: "relay.example.com", publicKey: nil) } throws: { error in
            guard case TFChainError.transactionRejected(let detail) = error else { return false }
            return detail.contains("1010")
        }
        fake.with { $0.rejectSubmission = false; $0.statuses = ["ready", "invalid"] }
        await #expect { _ = try await client.updateTwin(signer: IdentityExtrinsicSigner(dev), relayField: "relay.example.com", publicKey: nil) } throws: { error in
            if case TFChainError.transactionRejected = error { return true } else { return false }
        }
        await client.close()
        await fake.node?.stop()
    }

    @Test func aFinalizedBlockWithoutTwinUpdatedIsAnError() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        let finalized = FakeTFChain.blockHash(104)
        fake.with { state in
            state.statuses = [["finalized": NodeJSON(stringLiteral: finalized)]]
            state.eventsByBlock[finalized] = "0x00"   // no events at all
        }
        let dev = try Self.dev()
        await #expect { _ = try await client.updateTwin(signer: IdentityExtrinsicSigner(dev), relayField: "relay.example.com", publicKey: nil) } throws: { error in
            if case TFChainError.missingEvent = error { return true } else { return false }
        }
        await client.close()
        await fake.node?.stop()
    }

    @Test func aFailedDispatchIsReportedByItsErrorName() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        let finalized = FakeTFChain.blockHash(105)
        let text = String(decoding: try Fixtures.data("tfchain/events-update-failed.hex"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        fake.with { state in
            state.statuses = [["finalized": NodeJSON(stringLiteral: finalized)]]
            state.eventsByBlock[finalized] = "0x" + text
        }
        let dev = try Self.dev()
        await #expect { _ = try await client.updateTwin(signer: IdentityExtrinsicSigner(dev), relayField: "relay.example.com", publicKey: nil) } throws: { error in
            guard case TFChainError.extrinsicFailed(let reason) = error else { return false }
            return reason == "TfgridModule.TwinNotExists"
        }
        await client.close()
        await fake.node?.stop()
    }

    @Test func ed25519TwinsSignWithTheirOwnScheme() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        try fake.finalizeUpdates(inBlock: 106)
        // alpha's twin 41 is owned by its ed25519 key (twins.json).
        let alpha = try Identity(parsing: "bridge scale parent tribe elegant void army spend brief trigger burst chief", keyType: .ed25519)
        #expect(try await client.directory.twinID(account: alpha.account) == 41)
        _ = try await client.updateTwin(signer: IdentityExtrinsicSigner(alpha), relayField: "r1.example.com", publicKey: nil)
        let submitted = try #require(fake.with { $0.submitted.first })
        let bytes = [UInt8](testHex: String(submitted.dropFirst(2)))
        var decoder = ScaleDecoder(bytes)
        _ = try decoder.decodeCompact()
        #expect(try decoder.readBytes(2) == [0x84, 0x00])
        #expect(try decoder.readBytes(32) == alpha.account.bytes)
        #expect(try decoder.decodeU8() == 0x00)   // MultiSignature::Ed25519
        await client.close()
        await fake.node?.stop()
    }

    @Test func relayFieldsTheChainWouldRefuseAreNotSubmitted() async throws {
        let (fake, client) = try await Self.chainWithVectorTwins()
        let dev = try Self.dev()
        for bad in ["a.example.com", "relay.example.com:8080", "", "x..y", "http://r.example.com"] {
            await #expect { _ = try await client.updateTwin(signer: IdentityExtrinsicSigner(dev), relayField: bad, publicKey: nil) } throws: { error in
                if case TFChainError.invalidRelayField = error { return true } else { return false }
            }
        }
        #expect(fake.with { $0.submitted.isEmpty })
        await client.close()
        await fake.node?.stop()
    }
}

/// Collects changes reported by the follower.
final class ChangeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [TwinChange] = []
    func append(_ change: TwinChange) { lock.lock(); changes.append(change); lock.unlock() }
    var all: [TwinChange] { lock.lock(); defer { lock.unlock() }; return changes }
}

@Suite struct TwinEventFollowerTests {
    static func waitFor(_ condition: () -> Bool) async {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition(), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }

    @Test func finalizedTwinUpdatesReachTheCache() async throws {
        let fake = FakeTFChain()
        let events = try FakeTFChain.twinUpdatedEvents()
        fake.with { state in
            state.finalizedHeads = [101, 102]
            state.eventsByBlock[FakeTFChain.blockHash(102)] = events
        }
        let node = try await fake.start()
        let client = TFChainClient(rpc: SubstrateRPCClient(urls: [node.url], attemptTimeout: .seconds(15)))
        let log = ChangeLog()
        let task = Task { await TwinEventFollower(client: client).run { log.append($0) } }
        await Self.waitFor { !log.all.isEmpty }
        task.cancel()
        await task.value
        guard case .updated(let twin)? = log.all.first else { Issue.record("no update: \(log.all)"); return }
        #expect(twin.id == 7)
        #expect(twin.relays.map(\.host) == ["relay.example.com"])
        #expect(node.requests("state_getStorage").count >= 2)   // blocks 101 and 102
        await client.close()
        await node.stop()
    }

    /// A node that stops sending finalized heads (its subscription open, nothing on it) is left
    /// after the stall timeout, checked every quarter of it, and subscribed to again after the
    /// back-off: all on the client's clock, moved by the test.
    @Test func aStalledSubscriptionIsReplacedAfterTheStallTimeoutAndTheBackOff() async throws {
        let fake = FakeTFChain()
        fake.with { $0.finalizedHeads = [101] }
        let node = try await fake.start()
        let clock = ManualClock()
        let client = TFChainClient(rpc: SubstrateRPCClient(urls: [node.url], attemptTimeout: .seconds(15)), clock: clock)
        var configuration = TwinEventFollower.Configuration()
        configuration.stallTimeout = .seconds(40)
        configuration.minimumBackoff = .seconds(3)
        let task = Task { await TwinEventFollower(client: client, configuration: configuration).run { _ in } }
        let subscriptions = { node.requests("chain_subscribeFinalizedHeads").count }
        // The first head has arrived and is processed before time moves: its arrival restarts
        // the stall timeout, so a head read late (CI once, under load) made the check at 50 s
        // pass and nothing was left. The processing (metadata, a debug build) is real work too:
        // a stalled subscription is left once it ends, hence the back-off's generous bound.
        await Self.waitFor { node.requests("state_getStorage").count >= 1 }
        for checked in 1...4 {
            #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: .seconds(10))), "stall check \(checked)")
            clock.advance(by: .seconds(10))
        }
        // 40 s without a head is not yet more than the timeout; the check at 50 s is.
        #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: .seconds(10))))
        #expect(subscriptions() == 1)
        clock.advance(by: .seconds(10))
        #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: .seconds(3)), timeout: .seconds(60)), "the back-off after the stall")
        #expect(subscriptions() == 1)
        clock.advance(by: .seconds(3))
        await Self.waitFor { subscriptions() == 2 }
        #expect(subscriptions() == 2)
        task.cancel()
        await task.value
        await client.close()
        await node.stop()
    }

    @Test func aGapLongerThanTheCatchUpLimitFlushes() async throws {
        let fake = FakeTFChain()
        fake.with { $0.finalizedHeads = [101, 500] }
        let node = try await fake.start()
        let client = TFChainClient(rpc: SubstrateRPCClient(urls: [node.url], attemptTimeout: .seconds(15)))
        var configuration = TwinEventFollower.Configuration()
        configuration.catchUpLimit = 10
        let log = ChangeLog()
        let task = Task { await TwinEventFollower(client: client, configuration: configuration).run { log.append($0) } }
        await Self.waitFor { log.all.contains(.flushAll) && node.requests("state_getStorage").count >= 2 }
        task.cancel()
        await task.value
        #expect(log.all == [.flushAll])
        // Block 101, then only 500: the 398 blocks between were not fetched.
        let fetched = node.requests("chain_getBlockHash").compactMap { $0.params.first?.int }
        #expect(Set(fetched) == [101, 500])
        #expect(node.requests("state_getStorage").count == 2)
        await client.close()
        await node.stop()
    }

    /// The node takes the transaction and the connection drops before any final status (issue
    /// 16): the outcome is read from the twin record — found, the update is reported as landed
    /// (no block known); not found within the wait, "outcome unknown", never "watch failed".
    @Test(arguments: [true, false])
    func aLostTransactionWatchIsSettledByReadingTheRecord(lands: Bool) async throws {
        let (fake, _) = try await TFChainClientTests.chainWithVectorTwins()
        let node = try #require(fake.node)
        let clock = ManualClock()
        let client = TFChainClient(rpc: SubstrateRPCClient(urls: [node.url], attemptTimeout: .seconds(15)), clock: clock)
        fake.with { $0.statuses = ["ready"] }
        let dev = try TFChainClientTests.dev()
        let update = Task {
            try await client.updateTwin(signer: IdentityExtrinsicSigner(dev), relayField: "relay.example.com_r9.example.net",
                                        publicKey: dev.e2ePublicKey, finalizationTimeout: .seconds(10))
        }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(10)) { fake.with { $0.submitted.count } == 1 })
        try await Task.sleep(for: .milliseconds(100))   // the "ready" status is out
        if lands {
            // The chain applied it: twin 7's record now carries the new relay field.
            let key = "0x" + ChainTwinDirectory.twinKey(id: 7).map { String(format: "%02x", $0) }.joined()
            let old = try TwinRecord(scale: try #require(fake.with { $0.storage[key] }.flatMap { [UInt8](testHex: String($0.dropFirst(2))) }))
            var new = old
            new.relayField = Array("relay.example.com_r9.example.net".utf8)
            fake.with { $0.storage[key] = "0x" + new.scaleBytes.map { String(format: "%02x", $0) }.joined() }
        }
        node.closeAllConnections()
        if lands {
            let receipt = try await update.value
            #expect(receipt.blockHash == nil)
            #expect(receipt.record.relayText == "relay.example.com_r9.example.net")
        } else {
            // Look-ups every 2 s on the manual clock, for the 10-s window. Each step waits for
            // the look-up's own pause (due 2 s from now), not just any sleeper: until the client
            // notices the lost watch, the only sleeper is the 10-s finalization time-out, and
            // moving the clock then would fire it instead.
            for _ in 0..<5 {
                #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: .seconds(2))))
                clock.advance(by: .seconds(2))
            }
            do {
                _ = try await update.value
                Issue.record("an update the record never showed was reported as landed")
            } catch let error as TFChainError {
                guard case .outcomeUnknown(let detail) = error else { Issue.record("\(error)"); return }
                #expect(detail.contains("rmb twin show"), "\(detail)")
                #expect(error.isCallersMistake == false)
            }
        }
        await client.close()
        await node.stop()
    }
}

