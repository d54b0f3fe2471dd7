import Foundation
import RMBTestSupport
import Testing

/// rmb-peer under swift-service-lifecycle: SIGTERM stops it in order, quickly and quietly, and a
/// stop in the middle of traffic loses nothing.
@Suite("rmb-peer stops in order (real processes)", .serialized, .timeLimit(.minutes(3)))
struct PeerShutdownTests {
    @Test("SIGTERM under load: intake first, batches in flight confirmed, sessions closed, store closed; no error, nothing lost")
    func gracefulStopUnderLoad() async throws {
        let network = try await LocalNetwork.start(relays: 1, peers: [
            .init(twin: 1, identity: 0, relays: [0], extraArguments: LocalNetwork.Peer.metricsOnAnyPort),
            .init(twin: 2, identity: 1, relays: [0]),
        ])
        defer { network.shutdown() }
        let requester = network.peers[0]
        let client = try BusClient(url: requester.redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }

        // Requests keep arriving while the peer stops: some are sent before, some wait in Redis.
        let count = 400
        let pushing = Task {
            for index in 0..<count {
                try await client.request(ref: "stop-\(index)", cmd: "echo", dst: [2], ret: "ret-stop", dat: Array("r\(index)".utf8), exp: 120)
            }
        }
        let first = try await client.collect("ret-stop", count: 20, timeout: .seconds(30))
        #expect(first.count == 20, "\(network.diagnostics())")
        let started = ContinuousClock.now
        let status = await requester.process.stop(timeout: .seconds(15))
        let took = ContinuousClock.now - started
        try await pushing.value
        print("[peer stop] SIGTERM under load took \(took)")
        let log = requester.process.log()
        #expect(status.flatMap(ChildProcess.exitCode(of:)) == 0, "\(requester.process.logTail(lines: 40))")
        #expect(took < .seconds(6), "stopping took \(took)")

        // The order of the stop, and not one error on the way (the metrics endpoint included).
        let steps = ["shutting down: local intake stopped", "shutting down: every batch in flight is confirmed",
                     "shutting down: closing relay sessions", "rmb-peer stopped"]
        let positions = steps.map { log.range(of: $0)?.lowerBound }
        #expect(!positions.contains(nil), "missing steps in:\n\(log.suffix(3000))")
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "steps out of order:\n\(log.suffix(3000))")
        let errors = log.split(separator: "\n").filter { $0.split(separator: " ").dropFirst().first == "error" }
        #expect(errors.isEmpty, "\(errors)")
        // After a restart every request is answered exactly once.
        try await network.restart(requester)
        let rest = try await client.collect("ret-stop", count: count - first.count, timeout: .seconds(60), linger: .seconds(1))
        let refs = (first + rest).compactMap(\.ref)
        #expect(refs.count == count, "\(refs.count) replies\n\(network.diagnostics())")
        #expect(Set(refs).count == count, "duplicates: \(refs.count - Set(refs).count)")
    }
}
