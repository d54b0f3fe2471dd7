import Foundation
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import Synchronization
import Testing

/// Inbound overload against a real `rmb-peer` process (issue 16): a relay drains a big offline
/// queue into one peer faster than the peer can take it, the service consuming the requests
/// falls behind (its queue reaches the 10,000 entries at which the reference trims the oldest
/// away), and the peer's Redis stalls in the middle. The peer must neither buffer without bound
/// nor drop: what it cannot hand over waits in its store (on disk) or, when even recording falls
/// behind, in the relay (the peer stops reading; TCP slows the relay down — proven frame by frame
/// in RelayConnectionBackPressureTests); what does not fit in the service's queue waits in the
/// store instead of being trimmed; the relay session survives the stall; and in the end every
/// envelope reached the service exactly once. How far the relay got ahead of the peer is
/// printed, not asserted: the loopback socket buffers here grow to 32 MiB, and the fake relay's
/// own write buffering is the test process's.
@Suite("rmb-peer under inbound overload (real process)", .serialized, .timeLimit(.minutes(10)))
struct PeerOverloadTests {
    /// Peak anonymous memory (heap, not the store's mapped file) of a process in MiB.
    private static func anonymousMiB(_ pid: pid_t) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Double(fields[1]) { return kib / 1024 }
        }
        return nil
    }

    /// The `ref`s of the requests in Redis JSON entries (the envelope uid).
    private static func reference(in entry: [UInt8]) -> String? {
        let marker = Array(#""ref":""#.utf8)
        guard let start = entry.indices.first(where: { entry[$0...].starts(with: marker) }) else { return nil }
        let from = start + marker.count
        guard let end = entry[from...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: entry[from..<end], as: UTF8.self)
    }

    @Test("200,000 envelopes flooded into one peer, its service behind and its Redis stalled for 8 s: each handed over once, memory bounded")
    func floodWithAStalledRedis() async throws {
        let total = Int(ProcessInfo.processInfo.environment["RMB_OVERLOAD_TOTAL"] ?? "") ?? 200_000
        let relay = try await FakeRelay.start()
        defer { Task { await relay.stop() } }
        // Twin 1 is the peer (connected to the fake relay only); twin 2 the sender, in the twin
        // file with its ed25519 account (signing 200,000 envelopes with sr25519 in a debug
        // build would take minutes).
        let network = try await LocalNetwork.start(relays: 0, peers: [
            .init(twin: 1, identity: 0, relays: [], extraArguments: ["--relay", relay.url] + LocalNetwork.Peer.metricsOnAnyPort),
        ], directTwins: [
            { var sender = LocalNetwork.PeerSpec(twin: 2, identity: 1, relays: [], e2e: false); sender.ed25519 = true; return sender }(),
        ])
        defer { network.shutdown() }
        let metricsPort = try await network.peers[0].metricsPort()
        let peer = network.peers[0]
        #expect(await eventually(timeout: .seconds(30)) { relay.sessions == 1 }, "the peer did not connect to the fake relay")
        let client = try BusClient(url: peer.redisURL)

        let sender = try Identity(parsing: try LocalNetwork.identities()[1].mnemonic, keyType: .ed25519)
        let started = ContinuousClock.now
        var frames: [[UInt8]] = []
        frames.reserveCapacity(total)
        for index in 0..<total {
            // 600 bytes each: 130 MiB in all, far more than the sockets hold (the receive buffer
            // grows to 32 MiB here), so the relay can run ahead of the peer only so far.
            var envelope = FakeRelay.floodRequest(index, command: "flood.sink",
                                                  payload: Data("payload \(index) ".utf8) + Data(repeating: UInt8(ascii: "x"), count: 600))
            try envelope.sign(with: sender)
            frames.append(try envelope.wireBytes())
        }
        let signed = ContinuousClock.now - started
        let baseline = Self.anonymousMiB(peer.process.processID) ?? -1

        // Peak memory, and how far the relay got ahead of the peer (frames written to the socket
        // minus frames the peer took from it), sampled while the flood runs.
        let sampling = Task { () -> (peak: Double, ahead: Int) in
            var peak = 0.0
            var ahead = 0
            while !Task.isCancelled {
                if let now = Self.anonymousMiB(peer.process.processID) { peak = max(peak, now) }
                let written = relay.floodWritten
                if let received = await PeerHostileTrafficTests.scrape(metricsPort, "rmb_peer_envelopes_received_total") {
                    ahead = max(ahead, written - Int(received))
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return (peak, ahead)
        }
        relay.flood(frames)
        frames = []

        // Early in the flood the peer's Redis stalls for 8 s (past two keepalive periods of 3 s):
        // what cannot be pushed stays pending in the store and is pushed after the stall.
        #expect(await eventually(timeout: .seconds(120), every: .milliseconds(10)) { relay.floodWritten >= 20_000 })
        network.redis.pause()
        try await Task.sleep(for: .seconds(8))
        let writtenAtResume = relay.floodWritten
        network.redis.resume()

        // The service: starts once its queue is full (10,000 waiting), then takes up to 500
        // entries every 20 ms.
        let queueFilled = await eventually(timeout: .seconds(300), every: .milliseconds(50)) {
            ((try? await client.length("msgbus.flood.sink")) ?? 0) >= 10_000
        }
        #expect(queueFilled, "the service queue never filled\n\(peer.process.logTail(lines: 30))")
        let consumed = Mutex<[String]>([])
        let service = Task {
            while !Task.isCancelled {
                let reply = try? await client.redis.send(["RPOP", "msgbus.flood.sink", 500])
                let entries = reply?.array ?? []
                let refs = entries.compactMap { $0.bytes.flatMap(Self.reference(in:)) }
                consumed.withLock { $0 += refs }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { service.cancel() }
        let maxQueue = Mutex(0)
        let watching = Task {
            while !Task.isCancelled {
                let length = (try? await client.length("msgbus.flood.sink")) ?? 0
                maxQueue.withLock { $0 = max($0, length) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { watching.cancel() }

        let allConsumed = await eventually(timeout: .seconds(420), every: .milliseconds(200)) { consumed.withLock { $0.count } >= total }
        let elapsed = ContinuousClock.now - started
        sampling.cancel()
        let (peak, ahead) = await sampling.value
        // Anything more than `total` would be a duplicate: give a late one time to show.
        try await Task.sleep(for: .seconds(2))
        let refs = consumed.withLock { $0 }
        let distinct = Set(refs)
        let store = try await freshStoreStatus(peer)
        let queueFull = await PeerHostileTrafficTests.scrape(metricsPort, "rmb_peer_local_queue_full_total") ?? -1
        print("""
            [overload] \(total) envelopes signed in \(signed); consumed \(refs.count) (\(distinct.count) distinct) in \(elapsed); \
            longest service queue \(maxQueue.withLock { $0 }); hand-overs put off for a full queue \(queueFull); \
            relay wrote \(writtenAtResume) of \(total) frames by the end of the 8-s Redis stall, at most \(ahead) ahead of the peer; \
            peer sessions \(relay.sessions); anonymous memory MiB: baseline \(baseline), peak \(peak); store \(store)
            """)

        #expect(allConsumed && refs.count == total && distinct.count == total,
                "consumed \(refs.count), \(distinct.count) distinct, of \(total)\n\(peer.process.logTail(lines: 30))")
        #expect(distinct == Set((0..<total).map { "flood-\($0)" }))
        // Never trimmed: the queue stayed within the reference's bound, the rest waited in the store.
        #expect(maxQueue.withLock { $0 } <= 10_000)
        #expect(queueFull > 0, "the service queue was never found full")
        #expect(relay.floodWritten == total)
        #expect(relay.sessions == 1, "the peer's relay session broke under back-pressure")
        // Bounded: the buffers (10,000 frames in the pool, 4,096 + 8 × 512 in the one sender's
        // lane) hold tens of MiB of these envelopes; the rest waits in the store (on disk), not
        // in memory. 200,000 held at once would take several hundred MiB.
        #expect(peak - baseline < 200, "anonymous memory grew from \(baseline) to \(peak) MiB")
        #expect(store["inbox_pending"] == 0, "\(store)")
    }
}
