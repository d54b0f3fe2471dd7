import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import RMBIdentity
import RMBProtocol
import RedisClient
import RMBTestSupport

#if canImport(Glibc)
import Glibc
#endif

// Helpers of PeerResilienceTests: clients that survive a Redis restart, and a relay client that
// speaks as another twin of the twin file (to send forged, replayed and garbage envelopes).

/// A reply reader on one `ret` list that keeps reading across Redis restarts (a real client
/// reconnects; ``BusClient/collect`` gives up on the first error). It reads like a reliable
/// client: `BLMOVE` into its own processing list, then `LREM` once recorded, so a reply Redis
/// handed out just as it shut down (popped, answer lost with the connection) is found again in
/// the processing list instead of being lost by the test (a plain BRPOP lost one in CI).
final class SteadyCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var replies: [BusReply] = []
    /// Replies recorded whose LREM from the processing list is not confirmed yet (a multiset):
    /// found there on recovery, they are removed without being counted twice. Genuine
    /// duplicates are separate list items and are each counted.
    private var unremoved: [[UInt8]: Int] = [:]
    private var failures = 0
    private var task: Task<Void, Never>?
    private let redis: RedisClient

    init(url: String, list: String) throws {
        redis = try RedisClient(url: url, poolSize: 1)
        let redis = self.redis
        let processing = list + ".collecting"
        task = Task { [weak self] in
            let connection = redis.makeDedicatedConnection(label: "steady-collect:\(list)")
            defer { connection.close() }
            var recover = true
            while !Task.isCancelled {
                do {
                    if recover {
                        let left = try await connection.send(["LRANGE", .string(processing), "0", "-1"])
                        for bytes in (left.array ?? []).compactMap(\.bytes).reversed() {
                            if self?.takeUnremoved(bytes) != true { self?.record(bytes) }
                            _ = try await connection.send(["LREM", .string(processing), "1", .bytes(bytes)])
                            self?.removed(bytes)
                        }
                        recover = false
                    }
                    let reply = try await connection.blocking(["BLMOVE", .string(list), .string(processing), "RIGHT", "LEFT", "1"],
                                                              blockTimeout: .seconds(1))
                    guard let bytes = reply.bytes else { continue }
                    self?.record(bytes)
                    _ = try await connection.send(["LREM", .string(processing), "1", .bytes(bytes)])
                    self?.removed(bytes)
                } catch is CancellationError {
                    return
                } catch {
                    self?.lock.withLock { self?.failures += 1 }
                    recover = true
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }

    private func record(_ bytes: [UInt8]) {
        lock.withLock {
            unremoved[bytes, default: 0] += 1
            replies.append(BusReply(bytes) ?? BusReply(Array("{\"unparsable\":true}".utf8))!)
        }
    }

    /// The LREM of a recorded reply succeeded.
    private func removed(_ bytes: [UInt8]) {
        lock.withLock {
            if let count = unremoved[bytes] { unremoved[bytes] = count > 1 ? count - 1 : nil }
        }
    }

    /// Whether `bytes` is a recorded reply still awaiting its LREM (then it is not recorded again).
    private func takeUnremoved(_ bytes: [UInt8]) -> Bool {
        lock.withLock { unremoved[bytes] != nil }
    }

    deinit { task?.cancel(); redis.close() }

    var all: [BusReply] { lock.withLock { replies } }
    /// Redis errors the reader rode out.
    var errors: Int { lock.withLock { failures } }

    /// Waits until every ref of `expected` has a reply (or `timeout`), then `linger` for late duplicates.
    func wait(for expected: Set<String>, timeout: Duration, linger: Duration = .seconds(2)) async throws -> ReplyTally {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if ReplyTally(expected: expected, replies: all).answered == expected.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: linger)
        return ReplyTally(expected: expected, replies: all)
    }

    func stop() { task?.cancel() }
}

/// Twins 1 and 2 on the same two relays, each peer with a session to both and a `/metrics` port
/// (`metrics[0]` the requester's, `metrics[1]` the responder's); returns once both are connected.
func twoPeersOnTwoRelays() async throws -> (network: LocalNetwork, metrics: [Int]) {
    let network = try await LocalNetwork.start(relays: 2, peers: [
        .init(twin: 1, identity: 0, relays: [0, 1], extraArguments: LocalNetwork.Peer.metricsOnAnyPort),
        .init(twin: 2, identity: 1, relays: [0, 1], extraArguments: LocalNetwork.Peer.metricsOnAnyPort),
    ])
    do {
        for peer in network.peers { try await peer.waitUntilConnected() }
        return (network, [try await network.peers[0].metricsPort(), try await network.peers[1].metricsPort()])
    } catch {
        network.shutdown()
        throw error
    }
}

/// Reads `<store>/status.json`, written by the peer every 2 s (relay states, store depths).
func peerStatus(_ peer: LocalNetwork.Peer) -> [String: Any]? {
    guard let data = try? Data(contentsOf: peer.store.appendingPathComponent("status.json")) else { return nil }
    return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
}

/// `store` section of status.json written after `since` (waits up to `timeout` for a fresh one).
func freshStoreStatus(_ peer: LocalNetwork.Peer, timeout: Duration = .seconds(10)) async throws -> [String: Int] {
    let since = Int(Date().timeIntervalSince1970)
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let status = peerStatus(peer), let time = status["time"] as? Int, time > since,
           let store = status["store"] as? [String: Any] {
            return store.compactMapValues { ($0 as? NSNumber)?.intValue }
        }
        try await Task.sleep(for: .milliseconds(200))
    }
    return [:]
}

/// Resident set size of a process in MiB (Linux /proc), nil if unknown.
func residentMiB(_ pid: pid_t) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 2, let kib = Double(fields[1]) { return kib / 1024 }
    }
    return nil
}

// MARK: - A relay client speaking as another twin

/// A WebSocket session to a relay, authenticated as `twin` with `identity` (a copy of the relay
/// tests' TestPeer, reduced to what these tests need): binary frames out, envelopes received are counted.
final class RelaySession: @unchecked Sendable {
    private let outbox: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation
    private let task: Task<Void, Never>
    private let lock = NSLock()
    private var inbound: [RMBEnvelope] = []
    private var closed = false

    var isClosed: Bool { lock.withLock { closed } }
    var received: [RMBEnvelope] { lock.withLock { inbound } }

    private init(outbox: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation, task: Task<Void, Never>, box: Box) {
        self.outbox = outbox
        self.task = task
        box.session = self
    }

    final class Box: @unchecked Sendable { weak var session: RelaySession? }

    fileprivate func receive(_ bytes: [UInt8]) {
        guard let envelope = try? RMBEnvelope(wire: bytes) else { return }
        lock.withLock { inbound.append(envelope) }
    }

    fileprivate func markClosed() { lock.withLock { closed = true } }

    /// Connects to `relayURL` (`http://127.0.0.1:port`) and waits for the upgrade.
    static func connect(_ relayURL: String, twin: UInt32, identity: Identity, sid: String? = nil) async throws -> RelaySession {
        let token = try RelayToken.make(identity: identity, twin: twin, sid: sid)
        let url = relayURL.replacingOccurrences(of: "http://", with: "ws://") + "/?" + token
        let (outboxStream, outbox) = AsyncStream<WebSocketOutboundWriter.OutboundFrame>.makeStream()
        let (ready, readyContinuation) = AsyncStream<Bool>.makeStream()
        let box = Box()
        var logger = Logger(label: "test.relay-session")
        logger.logLevel = .critical
        let task = Task {
            do {
                _ = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
                    readyContinuation.yield(true)
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask {
                            do {
                                for try await message in inbound.messages(maxSize: 1 << 24) {
                                    if case .binary(let buffer) = message { box.session?.receive(Array(buffer.readableBytesView)) }
                                }
                            } catch {}
                        }
                        group.addTask {
                            for await frame in outboxStream { try? await outbound.write(frame) }
                        }
                        await group.next()
                        group.cancelAll()
                    }
                }
            } catch {}
            box.session?.markClosed()
            readyContinuation.yield(false)
        }
        var iterator = ready.makeAsyncIterator()
        let deadline = Task { try? await Task.sleep(for: .seconds(10)); readyContinuation.yield(false) }
        let ok = await iterator.next() ?? false
        deadline.cancel()
        guard ok else {
            task.cancel()
            throw LocalNetwork.Failure.spawn("relay \(relayURL) refused the session of twin \(twin)")
        }
        return RelaySession(outbox: outbox, task: task, box: box)
    }

    func send(_ bytes: [UInt8]) { outbox.yield(.binary(ByteBuffer(bytes: bytes))) }

    func close() async {
        outbox.finish()
        task.cancel()
        _ = await task.value
    }
}
