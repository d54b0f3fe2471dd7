import Foundation
import RedisClient
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import Testing

/// Hostile inbound traffic against real processes (issue 5, Tests: "1,000 malformed JSON
/// messages and 1,000 forged or replayed envelopes mixed into good traffic"):
/// - 1,000 malformed JSON messages pushed into the requester's `msgbus.system.local` (not JSON,
///   wrong shapes and types, bad base64, invalid UTF-8, 100,000-deep nesting, absurd numbers …);
/// - 1,000 forged, tampered, expired, replayed, unsigned or oversized envelopes sent through the
///   relay by a client authenticated as twin 3 (another twin of the twin file) to the responder,
///   and forged replies to the requester;
/// while 250 good requests go requester → relay → responder → echo service → back.
@Suite("rmb-peer resilience: hostile traffic (real processes)", .serialized, .timeLimit(.minutes(5)))
struct PeerHostileTrafficTests {
    /// Envelopes from twin 3 (session `mallory`) made to fail the responder's checks in every way
    /// a relay lets through (the relay itself refuses undecodable frames and wrong sources).
    struct Forger {
        let identity: Identity
        let source = RMBAddress(twin: 3, connection: "mallory")

        func envelope(to twin: UInt32 = 2, uid: String = UUID().uuidString, command: String = "echo", payload: [UInt8] = Array("forged".utf8),
                      timestamp: UInt64 = unixNow(), expiration: UInt64 = 300, cipher: Bool = false, kind: String = "request",
                      signed: Bool = true) throws -> RMBEnvelope {
            var envelope = RMBEnvelope()
            envelope.uid = uid
            envelope.timestamp = timestamp
            envelope.expiration = expiration
            envelope.source = source
            envelope.destination = RMBAddress(twin: twin)
            switch kind {
            case "response": envelope.message = .response(RMBResponse())
            case "none": break
            default:
                var request = RMBRequest()
                request.command = command
                envelope.message = .request(request)
            }
            envelope.payload = cipher ? .cipher(Data(payload)) : .plain(Data(payload))
            if signed { try envelope.sign(with: identity) }
            return envelope
        }

        enum Kind: String, CaseIterable {
            case badSignature, tamperedDestination, tamperedPayload, expired, replay, garbageCipher, unsigned,
                 invalidCommand, forgedReply, oversized
        }

        /// The `index`-th hostile envelope (kinds in turn) and its kind.
        func hostile(_ index: Int, replaying valid: [UInt8]) throws -> (Kind, [UInt8]) {
            let kind = Kind.allCases[index % Kind.allCases.count]
            switch kind {
            case .badSignature:
                var envelope = try envelope()
                var signature = [UInt8](envelope.signature)
                signature[signature.count / 2] ^= 0xff
                envelope.signature = Data(signature)
                return (kind, try envelope.wireBytes())
            case .tamperedDestination:
                // Signed for twin 1, re-addressed to twin 2: the signature no longer matches.
                var envelope = try envelope(to: 1)
                envelope.destination = RMBAddress(twin: 2)
                return (kind, try envelope.wireBytes())
            case .tamperedPayload:
                var envelope = try envelope(payload: Array("pay me 10".utf8))
                envelope.payload = .plain(Data("pay me 1000".utf8))
                return (kind, try envelope.wireBytes())
            case .expired:
                return (kind, try envelope(timestamp: unixNow() - 1000, expiration: 300).wireBytes())
            case .replay:
                return (kind, valid)
            case .garbageCipher:
                return (kind, try envelope(payload: (0..<200).map { _ in UInt8.random(in: 0...255) }, cipher: true).wireBytes())
            case .unsigned:
                return (kind, try envelope(signed: false).wireBytes())
            case .invalidCommand:
                // ("../../etc/passwd" would be a valid command name: any list name is safe in Redis.)
                let commands = ["system.local", "a*b", "", "echo\u{0}", String(repeating: "x", count: 5000), "rm -rf /"]
                return (kind, try envelope(command: commands[(index / 10) % commands.count]).wireBytes())
            case .forgedReply:
                // A reply nobody asked for, to the requester.
                return (kind, try envelope(to: 1, kind: index % 20 == 8 ? "none" : "response").wireBytes())
            case .oversized:
                // 2 MiB (under the relay's 4 MiB frame limit) with a broken signature, or a small unsigned garbage envelope.
                if index % 50 == 9 {
                    var envelope = try envelope(payload: [UInt8](repeating: 0x5a, count: 2 << 20))
                    envelope.signature = Data(repeating: 1, count: 65)
                    return (kind, try envelope.wireBytes())
                }
                return (kind, try envelope(payload: (0..<4096).map { _ in UInt8.random(in: 0...255) }, kind: "none", signed: false).wireBytes())
            }
        }
    }

    /// The `index`-th malformed local message; `readable` gets the refs that must come back as errors on `ret-bad`.
    static func malformed(_ index: Int, readable: inout Set<String>) -> [UInt8] {
        let ref = "bad-\(index)"
        switch index % 12 {
        case 0: return Array("not json at all {\(index)".utf8)
        case 1: return Array("[1,2,\(index)]".utf8)
        case 2:
            readable.insert(ref)
            return Array(#"{"ver":1,"ref":"\#(ref)","cmd":"echo","exp":30,"dat":"%%%","dst":[2],"ret":"ret-bad","now":0}"#.utf8)
        case 3: return Array(#"{"ver":1,"cmd":"echo","ref":"noret-\#(index)"}"#.utf8)
        case 4:
            readable.insert(ref)
            return Array(#"{"ver":"x","ref":"\#(ref)","ret":"ret-bad","dst":"2","exp":-1}"#.utf8)
        case 5: return [0xff, 0xfe, 0x7b, 0x22, 0x80, 0x81, 0x22, 0x3a, 0xc3, 0x28, 0x7d]   // invalid UTF-8
        case 6: return index % 72 == 6 ? Array(repeating: UInt8(ascii: "["), count: 100_000) : Array("[[[[[[[[[[{}]]]]]]]]]]".utf8)
        case 7: return Array(#"{"ver":1,"ref":"big","cmd":"echo","exp":1e400,"dat":"","dst":[2],"ret":"ret-odd","now":0}"#.utf8)
        case 8: return Array(#"{"ver":1,"ref":"neg","cmd":"echo","exp":30,"dat":"","dst":[-1, 4294967296],"ret":"ret-odd","now":0}"#.utf8)
        case 9: return index % 2 == 0 ? [] : Array("null".utf8)
        case 10:
            readable.insert(ref)
            return Array(#"{"ver":1,"ref":"\#(ref)","cmd":"","exp":30,"dat":"","dst":[2],"ret":"ret-bad","now":0}"#.utf8)
        default:
            readable.insert(ref)
            return Array(#"{"ver":1,"ref":"\#(ref)","cmd":"echo","exp":30,"dat":"","dst":[],"ret":"ret-bad","now":0}"#.utf8)
        }
    }

    static func scrape(_ port: Int, _ name: String) async -> Double? {
        guard let text = try? await PeerObservabilityTests.scrape(port) else { return nil }
        return PeerObservabilityTests.value(name, in: text)
    }

    /// A new envelope goes to Redis while its inbox record is being committed; copies arriving
    /// together must still reach the service once. Two back-to-back copies through one relay land
    /// in one batch, where the inbox cannot see either yet (the Redis delivery marker keeps the
    /// second push a no-op); the third, through the other relay, usually comes a little later.
    @Test("300 envelopes, each sent twice through one relay and once through another at once → each reaches the service once")
    func copiesThroughTwoRelaysAtOnceReachTheServiceOnce() async throws {
        let network = try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 2, identity: 1, relays: [0, 1], extraArguments: LocalNetwork.Peer.metricsOnAnyPort),
            .init(twin: 3, identity: 2, relays: [0, 1]),
        ])
        defer { network.shutdown() }
        let metricsPort = try await network.peers[0].metricsPort()
        // Twin 3's peer is not needed: the test speaks as twin 3 through both relays.
        network.peers[1].process.kill()
        let responder = network.peers[0]
        let echo = try EchoService(url: responder.redisURL)
        defer { echo.stop() }
        let forger = Forger(identity: try Identity(parsing: try LocalNetwork.identities()[2].mnemonic, keyType: .sr25519))
        let viaFirst = try await RelaySession.connect(network.relays[0].url, twin: 3, identity: forger.identity, sid: "mallory")
        let viaSecond = try await RelaySession.connect(network.relays[1].url, twin: 3, identity: forger.identity, sid: "mallory")

        let count = 300
        var uids: [String] = []
        for index in 0..<count {
            let envelope = try forger.envelope(uid: "twice-\(index)-\(UUID().uuidString)", payload: Array("twice \(index)".utf8))
            let bytes = try envelope.wireBytes()
            viaFirst.send(bytes)
            viaFirst.send(bytes)
            viaSecond.send(bytes)
            uids.append(envelope.uid)
            if index % 20 == 19 { try await Task.sleep(for: .milliseconds(10)) }
        }
        let allSeen = await eventually(timeout: .seconds(60)) { echo.distinct == count }
        // Every copy has been handled once the duplicates are all counted.
        let copiesHandled = await eventually(timeout: .seconds(30)) {
            (await Self.scrape(metricsPort, "rmb_peer_duplicates_dropped_total") ?? 0) >= Double(2 * count)
        }
        let duplicates = await Self.scrape(metricsPort, "rmb_peer_duplicates_dropped_total") ?? -1
        let pushed = await Self.scrape(metricsPort, "rmb_peer_delivered_total") ?? -1
        let store = try await freshStoreStatus(responder)
        await viaFirst.close()
        await viaSecond.close()
        print("[twice] service distinct \(echo.distinct), repeated \(echo.repeated.count); duplicates dropped \(duplicates), pushed \(pushed); store \(store)")

        #expect(allSeen, "service saw \(echo.distinct) of \(count)\n\(network.diagnostics(lines: 30))")
        #expect(copiesHandled, "duplicates dropped \(duplicates) of \(2 * count)")
        #expect(echo.repeated.isEmpty, "service saw repeats: \(echo.repeated)")
        #expect(uids.allSatisfy { echo.count(of: $0) == 1 })
        #expect(pushed == Double(count), "pushed to Redis \(pushed) times for \(count) envelopes")
        #expect(store["inbox_keys"] == count && store["inbox_pending"] == 0, "\(store)")
    }

    @Test("1,000 malformed local messages and 1,000 forged or replayed envelopes mixed into 250 good requests")
    func hostileTrafficMixedIntoGoodTraffic() async throws {
        let network = try await LocalNetwork.start(relays: 1, peers: [
            .init(twin: 1, identity: 0, relays: [0]),
            .init(twin: 2, identity: 1, relays: [0], extraArguments: LocalNetwork.Peer.metricsOnAnyPort),
            .init(twin: 3, identity: 2, relays: [0]),
        ])
        defer { network.shutdown() }
        let metricsPort = try await network.peers[1].metricsPort()
        // Twin 3's own peer is not needed: its identity is the attacker's.
        network.peers[2].process.kill()
        let requester = network.peers[0], responder = network.peers[1]
        let client = try BusClient(url: requester.redisURL)
        let responderClient = try BusClient(url: responder.redisURL)
        let echo = try EchoService(url: responder.redisURL)
        defer { echo.stop() }
        let forger = Forger(identity: try Identity(parsing: try LocalNetwork.identities()[2].mnemonic, keyType: .sr25519))
        let mallory = try await RelaySession.connect(network.relays[0].url, twin: 3, identity: forger.identity, sid: "mallory")
        let started = ContinuousClock.now

        // One valid request from twin 3, replayed 100 times among the forgeries.
        let valid = try forger.envelope(uid: "valid-once-\(UUID().uuidString)", payload: Array("valid once".utf8))
        let validBytes = try valid.wireBytes()
        mallory.send(validBytes)

        let goodTotal = 250
        let goodRefs = (0..<goodTotal).map { "good-\($0)" }
        let collector = Task { try await client.collect("ret-good", count: goodTotal, timeout: .seconds(150), linger: .seconds(2), idle: .seconds(40)) }
        var readable = Set<String>()
        var kinds: [Forger.Kind: Int] = [:]
        for index in 0..<1000 {
            let (kind, bytes) = try forger.hostile(index, replaying: validBytes)
            kinds[kind, default: 0] += 1
            mallory.send(bytes)
            _ = try await client.redis.send(["LPUSH", "msgbus.system.local", .bytes(Self.malformed(index, readable: &readable))])
            if index % 4 == 0 {
                let ref = goodRefs[index / 4]
                try await client.request(ref: ref, cmd: "echo", dst: [2], ret: "ret-good", dat: Array(ref.utf8), exp: 120)
            }
            if index % 10 == 9 { try await Task.sleep(for: .milliseconds(5)) }
        }
        let sentAt = PeerNetworkTests.elapsed(since: started)
        let replies = try await collector.value
        let tally = ReplyTally(expected: Set(goodRefs), replies: replies)
        let errors = try await client.collect("ret-bad", count: readable.count, timeout: .seconds(30), linger: .milliseconds(500))
        let errorTally = ReplyTally(expected: readable, replies: errors)
        let odd = try await client.collect("ret-odd", count: 1000, timeout: .seconds(2))

        // The peers are alive and still serve.
        try await client.request(ref: "after", cmd: "echo", dst: [2], ret: "ret-after", dat: Array("after".utf8), exp: 60)
        let after = try await client.collect("ret-after", count: 1, timeout: .seconds(30))

        // Queues drain, the responder's inbox keeps only what was accepted.
        let drained = await eventually(timeout: .seconds(30)) {
            let local = (try? await client.length("msgbus.system.local")) ?? -1
            let processing = (try? await client.length("msgbus.system.local.processing")) ?? -1
            let replyProcessing = (try? await responderClient.length("msgbus.system.reply.processing")) ?? -1
            return local == 0 && processing == 0 && replyProcessing == 0
        }
        _ = await eventually(timeout: .seconds(30)) { (try? await freshStoreStatus(responder))?["outbox"] == 0 }
        let responderStore = try await freshStoreStatus(responder)
        let requesterStore = try await freshStoreStatus(requester)
        let refused = await Self.scrape(metricsPort, "rmb_peer_envelopes_refused_total") ?? -1
        let duplicates = await Self.scrape(metricsPort, "rmb_peer_duplicates_dropped_total") ?? -1
        let received = await Self.scrape(metricsPort, "rmb_peer_envelopes_received_total") ?? -1
        let rss = (requester: residentMiB(requester.process.processID) ?? -1, responder: residentMiB(responder.process.processID) ?? -1)
        let toMallory = mallory.received
        let errorsToMallory = toMallory.filter { if case .error? = $0.message { return true } else { return false } }.count
        let validReplies = toMallory.filter { $0.uid == valid.uid }
        await mallory.close()

        let requesterLog = requester.process.log(), responderLog = responder.process.log()
        print("""
            [hostile] sent in \(sentAt), done in \(PeerNetworkTests.elapsed(since: started)); good: \(tally); \
            malformed errors on ret: \(errorTally.answered)/\(readable.count), odd: \(odd.count); \
            forged kinds \(kinds.map { "\($0.key.rawValue) \($0.value)" }.sorted()); responder metrics: received \(received), refused \(refused), \
            duplicates \(duplicates); error replies to mallory \(errorsToMallory), replies to the valid request \(validReplies.count) \
            (\(toMallory.count) envelopes in all); log lines: requester 'dropping malformed request' \(requester.process.count("dropping malformed request")), \
            responder 'refusing incoming envelope' \(responder.process.count("refusing incoming envelope")); \
            stores: responder \(responderStore), requester \(requesterStore); RSS MiB \(rss); service distinct \(echo.distinct) repeated \(echo.repeated.count)
            """)

        #expect(network.peers[0].process.isRunning && network.peers[1].process.isRunning, "\(network.diagnostics())")
        #expect(!requesterLog.contains("Fatal error") && !responderLog.contains("Fatal error"))
        // The good traffic all flows, exactly once.
        #expect(tally.answered == goodTotal, "\(tally)\n\(network.diagnostics(lines: 30))")
        #expect(tally.duplicates == 0 && tally.errors.isEmpty, "\(tally)")
        #expect(replies.allSatisfy { $0.ref.map { Array($0.utf8) } == $0.payload }, "payloads match refs")
        #expect(after.count == 1 && after.first?.text == "after", "\(after)")
        // Malformed local messages with a readable ret are answered with an error, once each; the rest is dropped with a log line.
        #expect(errorTally.answered == readable.count && errorTally.duplicates == 0 && errors.allSatisfy { $0.isError }, "\(errorTally)")
        #expect(odd.allSatisfy { $0.isError }, "\(odd)")
        #expect(requester.process.count("dropping malformed request") >= 1000 - 250, "clear log lines for malformed requests")
        // The service saw each good request once, and the replayed valid request once.
        #expect(echo.distinct == goodTotal + 2, "service saw \(echo.distinct) distinct requests (good + valid + after)")
        #expect(echo.repeated.isEmpty, "service saw repeats: \(echo.repeated)")
        #expect(echo.count(of: valid.uid) == 1)
        // Every forgery was refused, with a log line, and every replay dropped.
        let forgedToResponder = 1000 - kinds[.forgedReply, default: 0] - kinds[.replay, default: 0] - kinds[.invalidCommand, default: 0]
        #expect(refused >= Double(forgedToResponder), "refused \(refused) of \(forgedToResponder) forged envelopes")
        #expect(responder.process.count("refusing incoming envelope") >= forgedToResponder)
        #expect(duplicates >= Double(kinds[.replay, default: 0]), "duplicates dropped \(duplicates)")
        // Each refused request got a signed error reply (the envelopes without a message did not).
        let refusedRequests: [Forger.Kind] = [.badSignature, .tamperedDestination, .tamperedPayload, .expired, .garbageCipher, .unsigned, .invalidCommand]
        let replyable = refusedRequests.reduce(0) { $0 + kinds[$1, default: 0] } + kinds[.oversized, default: 0] / 10
        #expect(errorsToMallory >= replyable, "error replies to mallory: \(errorsToMallory) of \(replyable)")
        // Bounded state: processing lists empty, the inbox holds only accepted envelopes, nothing pending.
        #expect(drained, "processing lists not empty\n\(network.diagnostics(lines: 30))")
        #expect(responderStore["inbox_pending"] == 0 && requesterStore["inbox_pending"] == 0, "\(responderStore) \(requesterStore)")
        #expect((responderStore["inbox_keys"] ?? .max) <= goodTotal + 2, "responder inbox \(responderStore)")
        #expect((requesterStore["inbox_keys"] ?? .max) <= goodTotal + 1, "requester inbox \(requesterStore)")
        #expect(responderStore["outbox"] == 0, "\(responderStore)")
        #expect(rss.requester < 512 && rss.responder < 512, "RSS \(rss)")
    }
}
