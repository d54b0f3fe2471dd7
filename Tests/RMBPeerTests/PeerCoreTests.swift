import Foundation
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import Testing
import TwinDirectory
@testable import RMBEngine
@testable import RMBPeer

/// A fixed in-memory twin directory.
struct FixedDirectory: TwinDirectory {
    var twins: [UInt32: Twin]
    var failing: Set<UInt32> = []
    struct LookupFailed: Error {}
    func twin(id: UInt32) async throws -> Twin? {
        if failing.contains(id) { throw LookupFailed() }
        return twins[id]
    }
    func twinID(account: AccountID) async throws -> UInt32? { twins.values.first { $0.account == account }?.id }
}

/// The outgoing factory and the incoming validator, end to end between two identities.
struct PeerCoreTests {
    static let devSecret = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    static let alphaSecret = "bridge scale parent tribe elegant void army spend brief trigger burst chief"

    struct Pair {
        let dev: PeerIdentity, alpha: PeerIdentity
        let devFactory: EnvelopeFactory, alphaValidator: IncomingValidator, devValidator: IncomingValidator
        let alphaFactory: EnvelopeFactory
    }

    static func pair(e2e: Bool, keyType: KeyType = .sr25519, alphaDirectoryPatch: ((inout [UInt32: Twin]) -> Void)? = nil) throws -> Pair {
        let devID = try Identity(parsing: devSecret, keyType: keyType)
        let alphaID = try Identity(parsing: alphaSecret, keyType: .ed25519)
        var twins: [UInt32: Twin] = [
            7: Twin(id: 7, account: devID.account, e2ePublicKey: e2e ? devID.e2ePublicKey : nil),
            41: Twin(id: 41, account: alphaID.account, e2ePublicKey: e2e ? alphaID.e2ePublicKey : nil),
        ]
        let devDirectory = FixedDirectory(twins: twins)
        alphaDirectoryPatch?(&twins)
        let alphaDirectory = FixedDirectory(twins: twins)
        let dev = PeerIdentity(twinID: 7, identity: devID)
        let alpha = PeerIdentity(twinID: 41, identity: alphaID)
        let devKeys = E2EKeyCache(ownKey: devID.e2eKey), alphaKeys = E2EKeyCache(ownKey: alphaID.e2eKey)
        return Pair(dev: dev, alpha: alpha,
                    devFactory: EnvelopeFactory(peer: dev, directory: devDirectory, keys: devKeys),
                    alphaValidator: IncomingValidator(peer: alpha, directory: alphaDirectory, keys: alphaKeys),
                    devValidator: IncomingValidator(peer: dev, directory: devDirectory, keys: devKeys),
                    alphaFactory: EnvelopeFactory(peer: alpha, directory: alphaDirectory, keys: alphaKeys))
    }

    static func request(_ payload: String = "hello", to twin: UInt32 = 41, expiration: UInt64 = 60) -> OutgoingMessage {
        OutgoingMessage(uid: UUID().uuidString.lowercased(), destination: RMBAddress(twin: twin),
                        kind: .request(command: "echo.ping"), payload: Array(payload.utf8),
                        schema: "application/json", expiration: expiration)
    }

    @Test(arguments: [true, false])
    func roundTripWithAndWithoutE2E(e2e: Bool) async throws {
        for keyType in KeyType.allCases {
            let p = try Self.pair(e2e: e2e, keyType: keyType)
            let envelope = try await p.devFactory.make(Self.request())
            #expect(envelope.payloadKind == (e2e ? "cipher" : "plain"))
            #expect(envelope.source == RMBAddress(twin: 7) && envelope.destination == RMBAddress(twin: 41))
            #expect(try TypedSignature(bytes: envelope.signature).keyType == keyType)
            // Through the wire and back.
            let received = try RMBEnvelope(wire: try envelope.wireBytes())
            let validated = try await p.alphaValidator.validate(received)
            #expect(validated.payload == Array("hello".utf8))
            #expect(validated.sender?.id == 7)
            let json = ServiceRequest(validated: validated, command: "echo.ping")
            #expect(json.source == "7" && json.reference == envelope.uid && json.expiration == 60)
            // And the reply.
            let reply = OutgoingMessage(uid: envelope.uid, destination: RMBAddress(twin: 7), kind: .response,
                                        payload: Array("pong".utf8), expiration: Expiration.clamp(3600))
            let back = try await p.devValidator.validate(try await p.alphaFactory.make(reply))
            let response = try #require(ClientResponse(validated: back, reference: "r1"))
            #expect(response.data == Array("pong".utf8) && response.source == "41" && response.reference == "r1" && response.error == nil)
        }
    }

    @Test func errorReplyWithoutPayloadHasNoPlainField() async throws {
        let p = try Self.pair(e2e: false)
        let error = OutgoingMessage(uid: "u", destination: RMBAddress(twin: 41), kind: .error(code: 104, message: "x"), expiration: 300)
        let envelope = try await p.devFactory.make(error)
        #expect(envelope.payloadKind == "none")
        let p2 = try Self.pair(e2e: true)
        #expect(try await p2.devFactory.make(error).cipher.count == 28)
    }

    @Test func outgoingErrors() async throws {
        let p = try Self.pair(e2e: true)
        await #expect(throws: ProtocolError.unknownTwin(99)) { try await p.devFactory.make(Self.request(to: 99)) }
        var stale = Self.request()
        stale.timestamp = 1_000
        stale.expiration = 10
        await #expect(throws: ProtocolError.other("response has expired before sending!")) { try await p.devFactory.make(stale) }
        // A destination pk that does not parse: the send fails with 106 instead of a silent Error envelope.
        let bad = try Self.pair(e2e: true)
        let factory = EnvelopeFactory(peer: bad.dev, directory: FixedDirectory(twins: [41: Twin(id: 41, account: bad.alpha.identity.account, e2ePublicKey: [1, 2, 3])]),
                                      keys: E2EKeyCache(ownKey: bad.dev.identity.e2eKey))
        do {
            _ = try await factory.make(Self.request())
            Issue.record("sent with a broken key")
        } catch {
            #expect(error.code == 106)
        }
    }

    @Test func incomingErrorCodes() async throws {
        let p = try Self.pair(e2e: true)
        let good = try await p.devFactory.make(Self.request())

        // 102 expired
        var expired = good
        expired.timestamp = 1_000
        await expectRejection(p.alphaValidator, expired, code: 102, replyable: true)
        // 103 unknown source twin
        let unknown = try Self.pair(e2e: true) { $0[7] = nil }
        await expectRejection(unknown.alphaValidator, good, code: 103, replyable: true)
        // 500 directory failure
        let failing = IncomingValidator(peer: p.alpha, directory: FixedDirectory(twins: [:], failing: [7]), keys: E2EKeyCache(ownKey: p.alpha.identity.e2eKey))
        await expectRejection(failing, good, code: 500, replyable: true)
        // 104 bad / missing signature
        var tampered = good
        tampered.request.command = "echo.pong"
        await expectRejection(p.alphaValidator, tampered, code: 104, replyable: true)
        var unsigned = good
        unsigned.clearSignature()
        await expectRejection(p.alphaValidator, unsigned, code: 104, replyable: true)
        // 105 cipher from a twin without pk
        let noKey = try Self.pair(e2e: true) { $0[7]?.e2ePublicKey = nil }
        await expectRejection(noKey.alphaValidator, good, code: 105, replyable: true)
        // 106 cipher that does not decrypt (signed over the broken bytes)
        var broken = try await p.devFactory.make(Self.request())
        var bytes = [UInt8](broken.cipher)
        bytes[bytes.count - 1] ^= 1
        broken.cipher = Data(bytes)
        try broken.sign(with: p.dev.identity)
        await expectRejection(p.alphaValidator, broken, code: 106, replyable: true)
        // An envelope for another twin is refused (known-gaps §3).
        await expectRejection(p.devValidator, good, code: 500, replyable: true)
        // A response that fails is not answered.
        var response = try await p.devFactory.make(OutgoingMessage(uid: "u", destination: RMBAddress(twin: 41), kind: .response, expiration: 60))
        response.uid = "v"
        await expectRejection(p.alphaValidator, response, code: 104, replyable: false)
    }

    /// A batch is validated as each of its envelopes would be alone: its sr25519 signatures are
    /// checked together, and a forged one among them fails only itself.
    @Test func batchValidationMatchesOneByOne() async throws {
        let p = try Self.pair(e2e: true)
        var batch: [RMBEnvelope] = []
        for index in 0..<12 { batch.append(try await p.devFactory.make(Self.request("call \(index)"))) }
        let allGood = await p.alphaValidator.validate(batch)
        #expect(allGood.count == 12)
        for (index, outcome) in allGood.enumerated() {
            #expect((try? outcome.get())?.payload == Array("call \(index)".utf8))
        }

        var mixed = batch
        mixed[3].request.command = "echo.pong"            // 104: the signature no longer matches
        mixed[5].timestamp = 1_000                          // 102
        mixed[8].clearSignature()                           // 104: not signed
        var broken = mixed[10]                              // 106: signed over a cipher that does not open
        var bytes = [UInt8](broken.cipher)
        bytes[bytes.count - 1] ^= 1
        broken.cipher = Data(bytes)
        try broken.sign(with: p.dev.identity)
        mixed[10] = broken
        var relayError = RMBEnvelope()                      // accepted unsigned
        relayError.uid = "u"
        relayError.timestamp = unixNow()
        relayError.expiration = 300
        relayError.error = RMBError.with { $0.code = 0; $0.message = RelayErrorText.destinationOffline }
        mixed.append(relayError)

        let together = await p.alphaValidator.validate(mixed)
        #expect(together.count == mixed.count)
        for (index, envelope) in mixed.enumerated() {
            var alone: Result<ValidatedEnvelope, IncomingRejection>
            do { alone = .success(try await p.alphaValidator.validate(envelope)) } catch { alone = .failure(error) }
            switch (together[index], alone) {
            case (.success(let a), .success(let b)):
                #expect(a.payload == b.payload && a.sender?.id == b.sender?.id, "envelope \(index)")
            case (.failure(let a), .failure(let b)):
                #expect(a.error.code == b.error.code && a.replyable == b.replyable, "envelope \(index): \(a) against \(b)")
            default:
                Issue.record("envelope \(index): \(together[index]) in the batch, \(alone) alone")
            }
        }
        let codes = together.map { outcome -> UInt32? in
            if case .failure(let rejection) = outcome { return rejection.error.code }
            return nil
        }
        #expect(codes == [nil, nil, nil, 104, nil, 102, nil, nil, 104, nil, 106, nil, nil])
    }

    @Test func unsignedTwinZeroOnlyAsErrorReply() async throws {
        let p = try Self.pair(e2e: true)
        var relayError = RMBEnvelope()
        relayError.uid = "u"
        relayError.timestamp = unixNow()
        relayError.expiration = 300
        relayError.error = RMBError.with { $0.code = 0; $0.message = RelayErrorText.destinationOffline }
        let validated = try await p.alphaValidator.validate(relayError)
        #expect(validated.isUnsignedRelayError)
        let json = try #require(ClientResponse(validated: validated, reference: nil))
        #expect(json.source == "0" && json.error?.message == "destination offline")

        var forgedRequest = relayError
        forgedRequest.request = RMBRequest.with { $0.command = "echo.ping" }
        await expectRejection(p.alphaValidator, forgedRequest, code: 104, replyable: false)
        var forgedResponse = relayError
        forgedResponse.response = RMBResponse()
        await expectRejection(p.alphaValidator, forgedResponse, code: 104, replyable: false)
    }

    @Test func commandNames() {
        #expect(CommandName.problem(with: "zos.system.version") == nil)
        #expect(CommandName.problem(with: "rmb.version") == nil)
        #expect(CommandName.problem(with: "system.local") != nil)
        #expect(CommandName.problem(with: "system.reply") != nil)
        #expect(CommandName.problem(with: "") != nil)
        #expect(CommandName.problem(with: "a b") != nil)
        #expect(CommandName.problem(with: String(repeating: "a", count: 300)) != nil)
    }

    @Test func versionPlugin() async throws {
        let p = try Self.pair(e2e: false)
        var message = Self.request()
        message.kind = .request(command: VersionPlugin.versionCommand)
        let validated = try await p.alphaValidator.validate(try await p.devFactory.make(message))
        let reply = VersionPlugin.reply(to: validated)
        #expect(reply.uid == message.uid && reply.destination == RMBAddress(twin: 7) && reply.kind == .response)
        #expect(String(decoding: reply.payload, as: UTF8.self) == "\"\(VersionPlugin.version)\"")
        #expect(reply.schema == "application/json" && reply.expiration == 300)
    }

    func expectRejection(_ validator: IncomingValidator, _ envelope: RMBEnvelope, code: UInt32, replyable: Bool,
                         sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await validator.validate(envelope)
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.replyable == replyable, sourceLocation: sourceLocation)
        }
    }
}
