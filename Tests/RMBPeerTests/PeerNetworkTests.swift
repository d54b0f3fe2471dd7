import Foundation
import RedisClient
import RMBTestSupport
import Testing

/// End to end with real processes (issue 5): redis-server, rmb-relay and rmb-peer children of
/// the test, driven through the peers' Redis JSON API (peer.md §4) exactly as applications do.
/// Each test builds its own network (``LocalNetwork``) on free loopback ports.
@Suite("rmb-peer network (real processes)", .serialized, .timeLimit(.minutes(3)))
struct PeerNetworkTests {
    static let version = "\"v0.1.0-swift\""

    /// Two federated relays, twin 1 on relay 0, twin 2 on relay 1.
    static func federatedPair(e2e: Bool = true) async throws -> LocalNetwork {
        try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 1, identity: 0, relays: [0], e2e: e2e),
            .init(twin: 2, identity: 1, relays: [1], e2e: e2e),
        ])
    }

    static func elapsed(since start: ContinuousClock.Instant) -> String {
        let duration = ContinuousClock.now - start
        return String(format: "%.2f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    // MARK: 1. Round trips

    @Test("round trip through two federated relays: rmb.version and an echo service", arguments: [true, false])
    func roundTripThroughFederatedRelays(e2e: Bool) async throws {
        let network = try await Self.federatedPair(e2e: e2e)
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        let started = ContinuousClock.now

        // rmb.version: answered by the remote peer itself.
        try await client.request(ref: "r1", cmd: "rmb.version", dst: [2], ret: "ret-version", exp: 30)
        let version = try await client.collect("ret-version", count: 1, timeout: .seconds(20), linger: .milliseconds(300))
        try #require(version.count == 1, "version replies: \(version)\n\(network.diagnostics())")
        #expect(version[0].ref == "r1")
        #expect(version[0].src == "2")
        #expect(!version[0].isError, "\(version[0])")
        #expect(version[0].text == Self.version)
        #expect(version[0].keys == ["ver", "ref", "dat", "src", "shm", "now", "err"], "\(version[0])")

        // And the other way round (twin 2 asks twin 1).
        let reverse = try BusClient(url: network.peers[1].redisURL)
        try await reverse.request(ref: nil, cmd: "rmb.version", dst: [1], ret: "ret-reverse", exp: 30)
        let back = try await reverse.collect("ret-reverse", count: 1, timeout: .seconds(20))
        try #require(back.count == 1, "\(network.diagnostics())")
        #expect(back[0].ref == nil && back[0].src == "1" && back[0].text == Self.version, "\(back[0])")

        // Echo service: payloads come back byte for byte, refs preserved.
        let payloads: [[UInt8]] = [Array("hello".utf8), [], Array(0...255), Array(repeating: 0x41, count: 100_000),
                                   Array("{\"json\":\"ünïcødé\"}".utf8)]
        for (index, payload) in payloads.enumerated() {
            try await client.request(ref: "e\(index)", cmd: "echo", dst: [2], ret: "ret-echo", dat: payload)
        }
        let echoes = try await client.collect("ret-echo", count: payloads.count, timeout: .seconds(30), linger: .milliseconds(500))
        let tally = ReplyTally(expected: Set(payloads.indices.map { "e\($0)" }), replies: echoes)
        #expect(tally.answered == payloads.count && tally.duplicates == 0 && tally.errors.isEmpty, "\(tally)\n\(network.diagnostics())")
        for reply in echoes {
            guard let ref = reply.ref, ref.hasPrefix("e"), let index = Int(ref.dropFirst()), payloads.indices.contains(index) else { continue }
            #expect(reply.payload == payloads[index], "payload of \(ref)")
            #expect(reply.src == "2")
        }
        #expect(echo.received == payloads.count)
        print("[round trip e2e=\(e2e)] version + reverse + \(payloads.count) echoes: \(tally) in \(Self.elapsed(since: started))")
    }

    // MARK: 2. Multiple destinations

    @Test("multi-dst: one request to two twins → two replies with the same ref")
    func multipleDestinations() async throws {
        let network = try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 1, identity: 0, relays: [0]),
            .init(twin: 2, identity: 1, relays: [1]),
            .init(twin: 3, identity: 2, relays: [0]),
        ])
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo2 = try EchoService(url: network.peers[1].redisURL)
        let echo3 = try EchoService(url: network.peers[2].redisURL)
        defer { echo2.stop(); echo3.stop() }

        try await client.request(ref: "multi", cmd: "rmb.version", dst: [2, 3], ret: "ret-multi", exp: 30)
        let replies = try await client.collect("ret-multi", count: 2, timeout: .seconds(20), linger: .seconds(1))
        #expect(replies.count == 2, "\(replies)\n\(network.diagnostics())")
        #expect(replies.allSatisfy { $0.ref == "multi" && !$0.isError && $0.text == Self.version }, "\(replies)")
        #expect(Set(replies.map(\.src)) == ["2", "3"], "\(replies)")

        try await client.request(ref: "multi-echo", cmd: "echo", dst: [3, 2], ret: "ret-multi-echo", dat: Array("both".utf8))
        let echoes = try await client.collect("ret-multi-echo", count: 2, timeout: .seconds(20), linger: .seconds(1))
        #expect(echoes.count == 2, "\(echoes)\n\(network.diagnostics())")
        #expect(echoes.allSatisfy { $0.ref == "multi-echo" && $0.text == "both" }, "\(echoes)")
        #expect(Set(echoes.map(\.src)) == ["2", "3"])
        // One envelope per twin, all with the same uid.
        #expect(echo2.received == 1 && echo3.received == 1)
    }

    // MARK: 3. Error paths on `ret`

    @Test("error paths on ret: unknown twin, expired, malformed, bad base64, unknown rmb command (one relay)")
    func errorPaths() async throws {
        let network = try await LocalNetwork.start(relays: 1, peers: [
            .init(twin: 1, identity: 0, relays: [0]),
            .init(twin: 2, identity: 1, relays: [0]),
        ])
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)

        // Unknown destination twin → 103, local error (src "").
        try await client.request(ref: "unknown", cmd: "echo", dst: [99], ret: "ret-unknown")
        let unknown = try await client.collect("ret-unknown", count: 1, timeout: .seconds(10), linger: .milliseconds(300))
        try #require(unknown.count == 1, "\(unknown)\n\(network.diagnostics())")
        #expect(unknown[0].ref == "unknown" && unknown[0].errorCode == 103 && unknown[0].src == "", "\(unknown[0])")

        // One known and one unknown destination: the error for 99 and the real reply from 2.
        try await client.request(ref: "mixed", cmd: "rmb.version", dst: [2, 99], ret: "ret-mixed", exp: 30)
        let mixed = try await client.collect("ret-mixed", count: 2, timeout: .seconds(20), linger: .milliseconds(500))
        #expect(mixed.count == 2, "\(mixed)\n\(network.diagnostics())")
        #expect(mixed.contains { $0.errorCode == 103 && $0.ref == "mixed" }, "\(mixed)")
        #expect(mixed.contains { $0.src == "2" && $0.text == Self.version && $0.ref == "mixed" }, "\(mixed)")

        // exp 0 → 102.
        try await client.request(ref: "expired", cmd: "echo", dst: [2], ret: "ret-expired", exp: 0)
        let expired = try await client.collect("ret-expired", count: 1, timeout: .seconds(10), linger: .milliseconds(300))
        try #require(expired.count == 1, "\(expired)\n\(network.diagnostics())")
        #expect(expired[0].ref == "expired" && expired[0].errorCode == 102, "\(expired[0])")

        // Malformed JSON (required keys missing, wrong types) with a readable ret → an error.
        try await client.push("msgbus.system.local", #"{"ver":1,"ref":"malformed","cmd":"echo","ret":"ret-malformed"}"#)
        try await client.push("msgbus.system.local", #"{"ver":"one","ref":"typed","cmd":7,"exp":"x","dat":1,"dst":"2","ret":"ret-malformed","now":0}"#)
        let malformed = try await client.collect("ret-malformed", count: 2, timeout: .seconds(10), linger: .milliseconds(300))
        #expect(malformed.count == 2, "\(malformed)\n\(network.diagnostics())")
        #expect(Set(malformed.compactMap(\.ref)) == ["malformed", "typed"], "\(malformed)")
        #expect(malformed.allSatisfy { $0.isError }, "\(malformed)")

        // Bad base64 payload → an error.
        try await client.push("msgbus.system.local",
                              #"{"ver":1,"ref":"b64","cmd":"echo","exp":30,"dat":"!!not base64!!","dst":[2],"ret":"ret-b64","now":0}"#)
        let badBase64 = try await client.collect("ret-b64", count: 1, timeout: .seconds(10), linger: .milliseconds(300))
        try #require(badBase64.count == 1, "\(badBase64)\n\(network.diagnostics())")
        #expect(badBase64[0].ref == "b64" && badBase64[0].isError, "\(badBase64[0])")

        // Unknown rmb.* command → an error reply from the remote peer.
        try await client.request(ref: "foo", cmd: "rmb.foo", dst: [2], ret: "ret-foo", exp: 30)
        let foo = try await client.collect("ret-foo", count: 1, timeout: .seconds(20), linger: .milliseconds(500))
        try #require(foo.count == 1, "\(foo)\n\(network.diagnostics())")
        #expect(foo[0].ref == "foo" && foo[0].src == "2" && foo[0].isError, "\(foo[0])")
        #expect(foo[0].errorMessage?.contains("rmb.foo") == true, "\(foo[0])")

        // Nothing is stuck in the processing list, and the peer still works.
        #expect(try await client.length("msgbus.system.local.processing") == 0)
        try await client.request(ref: "after", cmd: "rmb.version", dst: [2], ret: "ret-after", exp: 30)
        let after = try await client.collect("ret-after", count: 1, timeout: .seconds(20))
        #expect(after.count == 1 && after.first?.text == Self.version, "\(after)")
    }

    // MARK: 4. Redundancy

    @Test("redundancy: relays killed mid-stream of 200 requests → every request answered")
    func relayKilledMidStream() async throws {
        let network = try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 1, identity: 0, relays: [0, 1], connect: [0, 1]),
            .init(twin: 2, identity: 1, relays: [0, 1], connect: [0, 1]),
        ])
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        let total = 200
        let refs = (0..<total).map { "req-\($0)" }
        let started = ContinuousClock.now

        let collector = Task { try await client.collect("ret-ha", count: total, timeout: .seconds(90), linger: .seconds(2), idle: .seconds(20)) }
        var events: [String] = []
        for (index, ref) in refs.enumerated() {
            if index == 60 {
                // Kill relay 0 while both peers use it.
                network.relays[0].process.kill()
                events.append("relay0 killed at #\(index) (\(Self.elapsed(since: started)))")
            }
            if index == 100 {
                // Bring relay 0 back, wait until both peers are connected to it again, then kill relay 1:
                // whichever relay each peer preferred, it lost it once.
                try await network.restart(network.relays[0])
                for peer in network.peers {
                    try await peer.process.waitForLog("relay connected", count: peer.relayCount + 1, timeout: .seconds(30))
                }
                network.relays[1].process.kill()
                events.append("relay0 back, relay1 killed at #\(index) (\(Self.elapsed(since: started)))")
            }
            try await client.request(ref: ref, cmd: "echo", dst: [2], ret: "ret-ha", dat: Array(ref.utf8), exp: 120)
            try await Task.sleep(for: .milliseconds(10))
        }
        let replies = try await collector.value
        let tally = ReplyTally(expected: Set(refs), replies: replies)
        print("[redundancy] \(tally); service received \(echo.received) (duplicates \(echo.duplicates)); \(events); elapsed \(Self.elapsed(since: started))")
        #expect(tally.answered == total, "\(tally)\n\(events)\n\(network.diagnostics(lines: 25))")
        #expect(tally.errors.isEmpty, "\(tally)")
        #expect(replies.allSatisfy { $0.ref.map { Array($0.utf8) } == $0.payload }, "payloads match refs")
        #expect(echo.distinct == total)
        #expect(network.peers.allSatisfy { $0.process.isRunning })
        #expect(tally.duplicates == 0, "\(tally)")
        #expect(echo.duplicates == 0, "service saw repeated uids \(echo.repeated)")
    }

    // MARK: 5. Peer crash

    /// A peer is killed with SIGKILL mid-stream and restarted.
    /// - The requester (`victim` 0): replies the relay wrote to its socket just before the kill
    ///   are gone from the relay (no delivery ack) and were never stored: the restarted requester
    ///   re-sends its unanswered requests (same uid and signed bytes), the responder's inbox
    ///   recognises them and re-sends the reply it kept.
    /// - The responder (`victim` 1): it pushes a new request to its service while recording it, so
    ///   the kill can fall between push and record; what was lost in flight comes again with the
    ///   requester's re-send (at half the remaining ttl: ~20 s with the 40 s ttl used here), and the
    ///   delivery marker keeps the service from seeing a request twice.
    /// Either way neither the client nor the service sees anything twice.
    @Test("kill -9 a peer mid-stream of 200 requests, restart it → every request answered exactly once", arguments: [0, 1])
    func peerKilledMidStream(victim: Int) async throws {
        let network = try await Self.federatedPair()
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        let total = 200
        let refs = (0..<total).map { "crash-\($0)" }
        let started = ContinuousClock.now
        let peer = network.peers[victim]
        let name = victim == 0 ? "requester" : "responder"
        // Requests lost in flight to a killed responder come back with the requester's re-send.
        let ttl = victim == 0 ? 120 : 40

        let collector = Task { try await client.collect("ret-crash", count: total, timeout: .seconds(90), linger: .seconds(3), idle: .seconds(30)) }
        var events: [String] = []
        for (index, ref) in refs.enumerated() {
            if index == 100 {
                peer.process.kill()
                events.append("\(name) SIGKILLed at #\(index) (\(Self.elapsed(since: started)))")
            }
            if index == 150 {
                try await network.restart(peer)
                events.append("\(name) restarted at #\(index) (\(Self.elapsed(since: started)))")
            }
            try await client.request(ref: ref, cmd: "echo", dst: [2], ret: "ret-crash", dat: Array(ref.utf8), exp: ttl)
            try await Task.sleep(for: .milliseconds(5))
        }
        let replies = try await collector.value
        let tally = ReplyTally(expected: Set(refs), replies: replies)
        let resentRequests = network.peers[0].process.count("re-sent requests left unanswered by the previous run")
        let resentReplies = network.peers[1].process.count("re-sending stored replies to repeated requests")
        print("[\(name) crash] \(tally); service received \(echo.received) distinct \(echo.distinct) (duplicates \(echo.duplicates)); "
              + "restart re-send log lines \(resentRequests), responder reply re-send log lines \(resentReplies); \(events); elapsed \(Self.elapsed(since: started))")
        #expect(tally.errors.isEmpty, "\(tally)")
        #expect(tally.unexpected.isEmpty, "\(tally)")
        // Every request was taken from Redis, stored and sent despite the crash (nothing lost on the way out).
        #expect(echo.distinct == total, "service saw \(echo.distinct) distinct requests")
        #expect(try await client.length("msgbus.system.local.processing") == 0)
        #expect(try await client.length("msgbus.system.local") == 0)
        // ... and every reply came back, exactly once; the service never saw a request twice.
        #expect(tally.answered == total, "\(tally)\n\(events)\n\(network.diagnostics(lines: 25))")
        #expect(tally.duplicates == 0, "\(tally)")
        #expect(echo.duplicates == 0, "service saw repeated uids \(echo.repeated)")
        #expect(echo.received == total)
    }

    // MARK: 6. Malformed input

    @Test("200 malformed messages mixed into 200 good requests → good traffic flows, peer alive")
    func malformedMixedIntoGoodTraffic() async throws {
        let network = try await Self.federatedPair()
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        let total = 200
        let refs = (0..<total).map { "good-\($0)" }
        let started = ContinuousClock.now

        var readableErrors = Set<String>()
        func malformed(_ index: Int) -> String {
            switch index % 5 {
            case 0: return "not json at all {\(index)"
            case 1: return "[1,2,\(index)]"
            case 2:
                readableErrors.insert("bad-\(index)")
                return #"{"ver":1,"ref":"bad-\#(index)","cmd":"echo","exp":30,"dat":"%%%","dst":[2],"ret":"ret-bad","now":0}"#
            case 3: return #"{"ver":1,"cmd":"echo","ref":"noret-\#(index)"}"#
            default:
                readableErrors.insert("bad-\(index)")
                return #"{"ver":"x","ref":"bad-\#(index)","ret":"ret-bad","dst":"2","exp":-1}"#
            }
        }

        let collector = Task { try await client.collect("ret-good", count: total, timeout: .seconds(90), linger: .seconds(1)) }
        for (index, ref) in refs.enumerated() {
            try await client.push("msgbus.system.local", malformed(index))
            if index % 10 == 0 {
                // Garbage service responses too.
                try await client.push("msgbus.system.reply", index % 20 == 0 ? "}{" : #"{"ver":1,"ref":"x","dat":"","dst":"not a twin","now":0}"#)
            }
            try await client.request(ref: ref, cmd: "echo", dst: [2], ret: "ret-good", dat: Array(ref.utf8), exp: 120)
        }
        let replies = try await collector.value
        let tally = ReplyTally(expected: Set(refs), replies: replies)
        let errors = try await client.collect("ret-bad", count: readableErrors.count, timeout: .seconds(10), linger: .milliseconds(300))
        let errorTally = ReplyTally(expected: readableErrors, replies: errors)
        let peerLog = network.peers[0].process.log()
        print("[malformed] good: \(tally); errors on ret: \(errorTally.answered)/\(readableErrors.count); log lines 'dropping malformed request': \(network.peers[0].process.count("dropping malformed request")); elapsed \(Self.elapsed(since: started))")
        #expect(tally.answered == total && tally.errors.isEmpty, "\(tally)\n\(network.diagnostics())")
        #expect(tally.duplicates == 0, "\(tally)")
        #expect(echo.duplicates == 0, "service saw repeated uids \(echo.repeated)")
        #expect(errorTally.answered == readableErrors.count && errorTally.duplicates == 0, "\(errorTally)")
        #expect(errors.allSatisfy { $0.isError })
        #expect(network.peers[0].process.isRunning, "\(network.diagnostics())")
        #expect(network.peers[0].process.count("dropping malformed request") == total, "clear log lines for each malformed request")
        #expect(!peerLog.contains("Fatal error"))
        #expect(try await client.length("msgbus.system.local.processing") == 0)
        #expect(try await client.length("msgbus.system.reply.processing") == 0)
    }

    // MARK: 7. Exactly once under load

    @Test("burst of 400 requests → each reaches the service once and is answered once")
    func burstExactlyOnce() async throws {
        let network = try await Self.federatedPair()
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        let total = 400
        let refs = (0..<total).map { "burst-\($0)" }
        let started = ContinuousClock.now
        let collector = Task { try await client.collect("ret-burst", count: total, timeout: .seconds(90), linger: .seconds(3), idle: .seconds(20)) }
        _ = try await client.redis.pipeline(refs.map { ref in
            ["LPUSH", "msgbus.system.local",
             .string(BusClient.requestJSON(ref: ref, cmd: "echo", dst: [2], ret: "ret-burst", dat: Array(ref.utf8), exp: 120))]
        })
        let replies = try await collector.value
        let tally = ReplyTally(expected: Set(refs), replies: replies)
        print("[burst] \(tally); service received \(echo.received) distinct \(echo.distinct) repeated \(echo.repeated.count); elapsed \(Self.elapsed(since: started))")
        #expect(tally.answered == total && tally.errors.isEmpty, "\(tally)\n\(network.diagnostics())")
        #expect(echo.distinct == total)
        #expect(tally.duplicates == 0, "\(tally)")
        #expect(echo.duplicates == 0, "service saw repeated uids \(echo.repeated)")
    }
}
