import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RMBTestSupport
import Testing

/// The peer's Prometheus endpoint and its report of requests that expire unsent, with real
/// redis, relay and peer processes.
@Suite("rmb-peer observability (real processes)", .serialized, .timeLimit(.minutes(3)))
struct PeerObservabilityTests {
    static func scrape(_ port: Int) async throws -> String {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/metrics"))
        let (data, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        return String(decoding: data, as: UTF8.self)
    }

    /// The value of an unlabelled sample, or of the first sample whose labels contain `label`.
    static func value(_ name: String, in text: String, label: String? = nil) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2 else { continue }
            let series = parts[0]
            if series == name || (label.map { series.hasPrefix(name + "{") && series.contains($0) } ?? false) {
                return Double(parts[parts.count - 1])
            }
        }
        return nil
    }

    /// The sum of every sample of `name` (all label values).
    static func sum(_ name: String, in text: String) -> Double {
        text.split(separator: "\n").reduce(0) { total, line in
            guard line.hasPrefix(name + "{") || line.hasPrefix(name + " "), let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { return total }
            return total + value
        }
    }

    /// The operator asked for metrics: a peer that cannot serve them says so and stops, instead
    /// of running on without them until a scrape fails.
    @Test("a peer that cannot listen on its --metrics address does not start: it exits with an error naming the address")
    func metricsAddressInUseStopsTheStart() async throws {
        let network = try await LocalNetwork.start(relays: 1, peers: [.init(twin: 1, identity: 0, relays: [0])])
        defer { network.shutdown() }
        let original = network.peers[0].process
        #expect(await original.stop() != nil)
        // The relay's port: something listens there.
        let taken = network.relays[0].port
        let peer = ChildProcess(name: "peer-metrics-taken", arguments: original.arguments + ["--metrics", "127.0.0.1:\(taken)"],
                                environment: original.environment, logFile: network.directory.appendingPathComponent("peer-metrics-taken.log"))
        try peer.start()
        defer { peer.kill() }
        let status = await peer.exitStatus(within: .seconds(30))
        let log = peer.log()
        #expect(status.flatMap(ChildProcess.exitCode(of:)).map { $0 != 0 } == true, "exit status \(String(describing: status)):\n\(log)")
        #expect(log.contains("cannot serve metrics on 127.0.0.1:\(taken)"), "\(log)")
        #expect(!log.contains("relay connected"), "the engine started: \(log)")
    }

    @Test("GET /metrics: counters follow the traffic, gauges show relays and the store")
    func metricsEndpoint() async throws {
        let network = try await LocalNetwork.start(relays: 1, peers: [
            .init(twin: 1, identity: 0, relays: [0], extraArguments: LocalNetwork.Peer.metricsOnAnyPort),
            .init(twin: 2, identity: 1, relays: [0]),
        ])
        defer { network.shutdown() }
        let port = try await network.peers[0].metricsPort()
        let client = try BusClient(url: network.peers[0].redisURL)
        for index in 0..<5 {
            try await client.request(ref: "m\(index)", cmd: "rmb.version", dst: [2], ret: "ret-metrics", exp: 30)
        }
        let replies = try await client.collect("ret-metrics", count: 5, timeout: .seconds(20))
        #expect(replies.count == 5, "\(network.diagnostics())")

        let text = try await Self.scrape(port)
        #expect(Self.value("rmb_peer_local_accepted_total", in: text) == 5, "\(text)")
        #expect((Self.value("rmb_peer_envelopes_sent_total", in: text) ?? 0) >= 5)
        #expect((Self.value("rmb_peer_envelopes_received_total", in: text) ?? 0) >= 5)
        #expect((Self.value("rmb_peer_delivered_total", in: text) ?? 0) >= 5)
        #expect(Self.value("rmb_peer_relay_connected", in: text, label: network.relays[0].url) == 1, "\(text)")
        #expect(Self.value("rmb_peer_store_outbox", in: text) != nil)
        #expect(Self.value("rmb_peer_store_backlog", in: text) != nil)
        #expect((Self.value("rmb_peer_store_commits", in: text) ?? 0) >= 1)
        #expect(Self.value("rmb_peer_store_idle_flushes", in: text) != nil)
    }

    @Test("a request that expires before any relay takes it is reported on ret (code 102)")
    func expiredBeforeSending() async throws {
        let network = try await LocalNetwork.start(relays: 1, peers: [
            .init(twin: 1, identity: 0, relays: [0]),
            .init(twin: 2, identity: 1, relays: [0]),
        ])
        defer { network.shutdown() }
        network.relays[0].process.kill()
        let client = try BusClient(url: network.peers[0].redisURL)
        try await client.request(ref: "stuck", cmd: "echo", dst: [2], ret: "ret-stuck", exp: 3)
        let replies = try await client.collect("ret-stuck", count: 1, timeout: .seconds(20))
        try #require(replies.count == 1, "\(network.diagnostics())")
        #expect(replies[0].ref == "stuck" && replies[0].errorCode == 102 && replies[0].src == "", "\(replies[0])")
        #expect(replies[0].errorMessage?.contains("expired before a relay accepted it") == true, "\(replies[0])")
    }
}
