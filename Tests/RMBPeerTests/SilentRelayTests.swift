import Foundation
import RMBTestSupport
import Testing

/// A relay that goes silent — frozen with SIGSTOP, its TCP connections open, nothing coming
/// back — delays nobody: batches it does not confirm in time are hedged through the other relay
/// (issue 19), in both directions, and nothing is lost or seen twice.
@Suite("rmb-peer hides a silent relay (real processes)", .serialized, .timeLimit(.minutes(3)))
struct SilentRelayTests {
    @Test("the relay in use frozen mid-stream: no request it could hold waits for the freeze, none lost or doubled")
    func frozenRelayIsHedgedAround() async throws {
        let (network, metrics) = try await twoPeersOnTwoRelays()
        let (requesterMetrics, responderMetrics) = (metrics[0], metrics[1])
        defer { network.shutdown() }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        // Mid-stream: sessions up, twins looked up and keys derived before the timed stream (the
        // first request of a debug build on a loaded machine took 1.5 s in CI, freeze or not).
        try await client.request(ref: "warm", cmd: "echo", dst: [2], ret: "ret-frozen-warm", dat: Array("warm".utf8), exp: 300)
        #expect(try await client.collect("ret-frozen-warm", count: 1, timeout: .seconds(30)).count == 1, "\(network.diagnostics())")

        // A rate a debug build carries with room to spare (the release figures come from `rmb bench peer`).
        let rate = 25, seconds = 12
        let total = rate * seconds
        let refs = (0..<total).map { "frozen-\($0)" }
        let collector = Task { try await client.collect("ret-frozen", count: total, timeout: .seconds(90), linger: .seconds(2), idle: .seconds(30)) }
        var sentAt: [String: ContinuousClock.Instant] = [:]
        let start = ContinuousClock.now
        var frozen: LocalNetwork.Relay?
        for (index, ref) in refs.enumerated() {
            let due = start + .milliseconds(index * 1000 / rate)
            if due > .now { try await Task.sleep(until: due) }
            if index == 3 * rate {
                // Freeze the relay the requester confirms most batches through: the one in use.
                let status = peerStatus(network.peers[0])?["relays"] as? [[String: Any]] ?? []
                let busiest = status.max { ($0["confirmed_batches"] as? Int ?? 0) < ($1["confirmed_batches"] as? Int ?? 0) }
                let canonical = busiest?["relay"] as? String
                frozen = network.relays.first { canonical?.hasSuffix(":\($0.port)") == true } ?? network.relays[0]
                frozen?.process.signal(SIGSTOP)
            }
            if index == 9 * rate { frozen?.process.signal(SIGCONT) }
            sentAt[ref] = .now
            try await client.push("msgbus.system.local", BusClient.requestJSON(ref: ref, cmd: "echo", dst: [2], ret: "ret-frozen", dat: Array(ref.utf8), exp: 300))
        }
        frozen?.process.signal(SIGCONT)
        let replies = try await collector.value
        let tally = ReplyTally(expected: Set(refs), replies: replies)
        #expect(tally.answered == total && tally.duplicates == 0 && tally.errors.isEmpty, "\(tally)\n\(network.diagnostics())")

        // Each request's latency by its index in the stream.
        var latencyOf: [Int: Duration] = [:]
        for reply in replies {
            guard let ref = reply.ref, let sent = sentAt[ref], let index = Int(ref.split(separator: "-").last ?? "") else { continue }
            latencyOf[index] = reply.receivedAt - sent
        }
        let latencies = latencyOf.values.sorted()
        // What the freeze can touch: requests sent from a second before it (their batches may
        // still wait for the frozen relay's confirmation) to the end.
        let touchedLatencies = latencyOf.filter { $0.key >= 2 * rate }.map(\.value)
        // Without hedging these requests wait for the freeze (6 s) or the confirmation timeout
        // (5 s). The bound is 2 s, not issue 19's 1 s: a debug build beside the rest of the suite
        // on two cores (CI once: p99 0.97 s over the whole stream, the test 105 s instead of 24);
        // the 1-s figure is the release benchmark's (`rmb bench peer --modes freeze`).
        let over = touchedLatencies.filter { $0 > .seconds(2) }.count
        func at(_ q: Double) -> Duration { latencies.isEmpty ? .zero : latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }
        print("[silent relay] frozen \(frozen.map { "\($0.port)" } ?? "?") for \(6) s at \(rate)/s: p50 \(at(0.5)) p99 \(at(0.99)) max \(latencies.last ?? .zero), over 2 s: \(over)")
        // the slowest request of each second of sending, for the log
        var slowestPerSecond = [Duration](repeating: .zero, count: seconds)
        for (index, latency) in latencyOf { slowestPerSecond[index / rate] = max(slowestPerSecond[index / rate], latency) }
        print("[silent relay] slowest per second of sending: \(slowestPerSecond.map { "\($0.components.seconds).\(String(format: "%03d", Int($0.components.attoseconds / 1_000_000_000_000_000)))" })")
        #expect(over == 0, "\(over) requests sent from a second before the freeze on waited over 2 s (max \(touchedLatencies.max() ?? .zero))")

        let requester = try await PeerObservabilityTests.scrape(requesterMetrics)
        let responder = try await PeerObservabilityTests.scrape(responderMetrics)
        let hedged = (PeerObservabilityTests.value(#"rmb_peer_extra_copies_total{reason="hedge"}"#, in: requester) ?? 0)
            + (PeerObservabilityTests.value(#"rmb_peer_extra_copies_total{reason="hedge"}"#, in: responder) ?? 0)
        print("[silent relay] hedged copies: \(hedged)")
        #expect(hedged > 0, "the frozen window was crossed by hedging")
        // resumed, the relay is no longer shown silent (promoted, or reconnected after its keepalive ran out)
        #expect(await eventually(timeout: .seconds(20)) {
            let relays = peerStatus(network.peers[0])?["relays"] as? [[String: Any]] ?? []
            return relays.count == 2 && relays.allSatisfy { $0["state"] as? String == "connected" }
        }, "\(String(describing: peerStatus(network.peers[0])))")
    }

    @Test("both relays frozen: requests wait, none lost, all answered once one relay is back; the log says why")
    func bothRelaysFrozenThenOneBack() async throws {
        let (network, _) = try await twoPeersOnTwoRelays()
        defer {
            for relay in network.relays { relay.process.signal(SIGCONT) }
            network.shutdown()
        }
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        try await client.request(ref: "warm", cmd: "echo", dst: [2], ret: "ret-both", dat: Array("warm".utf8), exp: 300)
        #expect(try await client.collect("ret-both", count: 1, timeout: .seconds(20)).count == 1, "\(network.diagnostics())")

        for relay in network.relays { relay.process.signal(SIGSTOP) }
        let count = 40
        for index in 0..<count {
            try await client.request(ref: "both-\(index)", cmd: "echo", dst: [2], ret: "ret-both", dat: Array("b\(index)".utf8), exp: 300)
            try await Task.sleep(for: .milliseconds(50))
        }
        // Frozen past the keepalive bound: nothing can be answered, nothing is given up.
        let meanwhile = try await client.collect("ret-both", count: 1, timeout: .seconds(6))
        #expect(meanwhile.isEmpty, "answered with both relays frozen: \(meanwhile)")

        network.relays[1].process.signal(SIGCONT)
        let replies = try await client.collect("ret-both", count: count, timeout: .seconds(60), linger: .seconds(2))
        let tally = ReplyTally(expected: Set((0..<count).map { "both-\($0)" }), replies: replies)
        #expect(tally.answered == count && tally.duplicates == 0 && tally.errors.isEmpty, "\(tally)\n\(network.diagnostics())")

        // The requester's log says what happened to each relay.
        let log = network.peers[0].process.log()
        for relay in network.relays {
            let lines = log.split(separator: "\n").filter { $0.contains(":\(relay.port)") }
            #expect(lines.contains { $0.contains("relay silent") || $0.contains("relay connection down") },
                    "no word on relay \(relay.port) in:\n\(log.suffix(3000))")
        }
        network.relays[0].process.signal(SIGCONT)
        #expect(await eventually(timeout: .seconds(30)) {
            let relays = peerStatus(network.peers[0])?["relays"] as? [[String: Any]] ?? []
            return relays.count == 2 && relays.allSatisfy { $0["state"] as? String == "connected" }
        }, "\(String(describing: peerStatus(network.peers[0])))")
    }
}
