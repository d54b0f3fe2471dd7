import Foundation
import RMBTestSupport
import Testing

/// A direct peer (`rmb service direct-echo`: the engine in process, no rmb-peer, no Redis) with
/// a crash-safe store, killed with SIGKILL mid-stream and restarted, serving an rmb-peer's
/// Redis client through two federated relays.
@Suite("direct peer crash (real processes)", .serialized, .timeLimit(.minutes(3)))
struct DirectPeerCrashTests {
    @Test("kill -9 a direct-peer service with a store mid-stream of 200 requests, restart it → every request answered exactly once")
    func directServiceKilledMidStream() async throws {
        let network = try await LocalNetwork.start(relays: 2, peers: [.init(twin: 1, identity: 0, relays: [0])],
                                                   directTwins: [.init(twin: 2, identity: 1, relays: [1])])
        defer { network.shutdown() }
        let service = ChildProcess(
            name: "direct-twin2",
            arguments: [LocalNetwork.binDirectory.appendingPathComponent("rmb").path, "service", "direct-echo",
                        "--twins", network.twinsFile.path, "--store", network.directory.appendingPathComponent("direct-store").path],
            environment: ["RMB_MNEMONIC": try LocalNetwork.identities()[1].mnemonic],
            logFile: network.directory.appendingPathComponent("direct-twin2.log"))
        try service.start()
        defer { service.kill() }
        try await service.waitForLog("relay connected", timeout: .seconds(30))

        let client = try BusClient(url: network.peers[0].redisURL)
        let total = 200
        let refs = (0..<total).map { "direct-crash-\($0)" }
        let collector = Task { try await client.collect("ret-direct", count: total, timeout: .seconds(90), linger: .seconds(3), idle: .seconds(30)) }
        var events: [String] = []
        let started = ContinuousClock.now
        for (index, ref) in refs.enumerated() {
            if index == 100 {
                service.kill()
                events.append("service SIGKILLed at #\(index) (\(ContinuousClock.now - started))")
            }
            if index == 150 {
                try await service.restart()
                try await service.waitForLog("relay connected", timeout: .seconds(30))
                events.append("service restarted at #\(index) (\(ContinuousClock.now - started))")
            }
            // Requests lost with the killed service come back with the requester's re-send (at half the ttl).
            try await client.request(ref: ref, cmd: "echo", dst: [2], ret: "ret-direct", dat: Array(ref.utf8), exp: 40)
            try await Task.sleep(for: .milliseconds(5))
        }
        let replies = try await collector.value
        let tally = ReplyTally(expected: Set(refs), replies: replies)
        print("[direct service crash] \(tally); \(events); elapsed \(ContinuousClock.now - started)")
        #expect(tally.errors.isEmpty, "\(tally)")
        #expect(tally.unexpected.isEmpty, "\(tally)")
        #expect(tally.answered == total, "\(tally)\n\(events)\n\(network.diagnostics(lines: 25))\n\(service.logTail(lines: 40))")
        #expect(tally.duplicates == 0, "\(tally)")
        // Each echo carries its own request's payload.
        for reply in replies where !reply.isError {
            #expect(Data(base64Encoded: reply.dat).map { String(decoding: $0, as: UTF8.self) } == reply.ref, "reply \(reply)")
        }
    }
}
