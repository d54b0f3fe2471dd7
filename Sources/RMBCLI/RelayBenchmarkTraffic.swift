import Foundation
import HummingbirdWSClient
import LocalProcesses
import Logging
import NIOCore

/// The traffic modes of `rmb bench relay`, with WebSocket clients (HummingbirdWSClient) that
/// speak to the relay exactly as peers do: N sender sessions each sending to its own receiver
/// session through one relay.
struct RelayTraffic: Sendable {
    let url: String
    let fixture: RelayBenchFixture
    let pairs: Int
    let payloadSize: Int

    struct Outcome: Sendable {
        var seconds: Double
        var received: Int
        var sent: Int
        var skipped: Int
        var latencies: [UInt64]
        var rate: Double { Double(received) / max(seconds, 1e-9) }
    }

    enum Failure: Error, CustomStringConvertible {
        case connect(String, String)
        case timeout(String)
        var description: String {
            switch self {
            case let .connect(session, reason): "session \(session) could not connect: \(reason)"
            case let .timeout(what): "timed out: \(what)"
            }
        }
    }

    /// Closed loop (`rate == nil`, at most `window` envelopes in flight per pair) or a fixed
    /// total rate spread over the pairs; latency is from just before the write of a frame to
    /// its arrival at the receiver, counted for arrivals inside the measurement interval.
    func run(window: Int, rate: Double?, warmup: Duration, measure: Duration) async throws -> Outcome {
        let slots = rate == nil ? max(window, 64) : 8192
        let pools = try (0..<pairs).map { try fixture.envelopes(pair: $0, slots: slots, payloadSize: payloadSize) }
        let ledgers = (0..<pairs).map { _ in PairLedger(slots: slots, window: rate == nil ? window : slots) }
        let gate = StartGate(parties: pairs)
        let perPairInterval = rate.map { 1e9 * Double(pairs) / $0 }
        let (warmupNanos, measureNanos) = (nanos(warmup), nanos(measure))
        let limit = measure + warmup + .seconds(30)
        try await withTimeout(limit, what: "traffic run", onTimeout: { ledgers.forEach { $0.stop() } }) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for pair in 0..<pairs {
                    let ledger = ledgers[pair], pool = pools[pair]
                    group.addTask {
                        try await connect(fixture.receiverSession(pair), token: try fixture.receiverToken(pair)) { inbound, _ in
                            try await connect(fixture.senderSession(pair), token: try fixture.senderToken(pair)) { _, outbound in
                                let start = try await gate.arriveAndWait()
                                ledger.setInterval(from: start + warmupNanos, until: start + warmupNanos + measureNanos)
                                try await withThrowingTaskGroup(of: Void.self) { inner in
                                    inner.addTask {
                                        if let perPairInterval {
                                            try await sendPaced(pool, ledger: ledger, start: start, interval: perPairInterval, until: start + warmupNanos + measureNanos, outbound: outbound)
                                        } else {
                                            try await sendWindowed(pool, ledger: ledger, outbound: outbound)
                                        }
                                        let deadline = benchNanos() + 10_000_000_000
                                        while !ledger.isDrained && benchNanos() < deadline { try await Task.sleep(for: .milliseconds(1)) }
                                    }
                                    inner.addTask { try await receive(inbound, ledger: ledger) }
                                    // The receiver ends once the sender stopped and nothing is in
                                    // flight; the sender ends after waiting for that too (bounded),
                                    // so whichever finishes first ends both.
                                    _ = try await inner.next()
                                    inner.cancelAll()
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        return Outcome(seconds: Double(measureNanos) / 1e9, received: ledgers.reduce(0) { $0 + $1.receivedInWindow },
                       sent: ledgers.reduce(0) { $0 + $1.sent }, skipped: ledgers.reduce(0) { $0 + $1.skipped },
                       latencies: ledgers.flatMap(\.latencies))
    }

    struct OfflineOutcome: Sendable {
        var envelopes: Int
        var enqueueSeconds: Double
        var drainSeconds: Double
    }

    /// Receivers offline: every sender sends `perPair` envelopes (they go to the receiver's Redis
    /// stream) and then a ping marker whose pong proves all were accepted; then all receivers
    /// connect at once and the time until the last envelope arrived is measured.
    func runOffline(perPair: Int) async throws -> OfflineOutcome {
        let pools = try (0..<pairs).map { try fixture.envelopes(pair: $0, slots: min(perPair, 256), payloadSize: payloadSize) }
        let markers = try (0..<pairs).map { try fixture.marker(pair: $0) }
        let pairs = self.pairs
        let enqueueGate = StartGate(parties: pairs)
        let enqueueSpan = SpanRecorder()
        try await withTimeout(.seconds(120), what: "offline enqueue") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for pair in 0..<pairs {
                    let pool = pools[pair], marker = markers[pair]
                    group.addTask {
                        try await connect(fixture.senderSession(pair), token: try fixture.senderToken(pair)) { inbound, outbound in
                            enqueueSpan.begin(try await enqueueGate.arriveAndWait(settle: .milliseconds(100)))
                            for index in 0..<perPair { try await outbound.write(.binary(pool[index % pool.count])) }
                            try await outbound.write(.binary(marker))
                            for try await frame in inbound where RelayBenchFixture.slot(of: frame.data) == nil { break }
                            enqueueSpan.end(benchNanos())
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let drainGate = StartGate(parties: pairs)
        let drainSpan = SpanRecorder()
        try await withTimeout(.seconds(120), what: "offline drain") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for pair in 0..<pairs {
                    group.addTask {
                        drainSpan.begin(try await drainGate.arriveAndWait(settle: .zero))
                        try await connect(fixture.receiverSession(pair), token: try fixture.receiverToken(pair)) { inbound, _ in
                            var count = 0
                            for try await _ in inbound {
                                count += 1
                                if count >= perPair { break }
                            }
                            drainSpan.end(benchNanos())
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        return OfflineOutcome(envelopes: pairs * perPair, enqueueSeconds: enqueueSpan.seconds, drainSeconds: drainSpan.seconds)
    }

    // MARK: Pieces

    private func sendWindowed(_ pool: [ByteBuffer], ledger: PairLedger, outbound: WebSocketOutboundWriter) async throws {
        var sequence = 0
        while true {
            let credits = await ledger.acquire(32)
            if credits == 0 { return }
            for _ in 0..<credits {
                let slot = sequence % ledger.slots
                sequence += 1
                ledger.markSent(slot)
                try await outbound.write(.binary(pool[slot]))
            }
        }
    }

    private func sendPaced(_ pool: [ByteBuffer], ledger: PairLedger, start: UInt64, interval: Double,
                           until end: UInt64, outbound: WebSocketOutboundWriter) async throws {
        var sequence = 0
        while true {
            let now = benchNanos()
            if now >= end { ledger.stop(); return }
            // Everything due by now (a late wake-up sends the backlog, as a steady source would).
            let due = Int(Double(now - start) / interval) + 1
            while sequence < due {
                if ledger.tryAcquire() {
                    let slot = sequence % ledger.slots
                    ledger.markSent(slot)
                    try await outbound.write(.binary(pool[slot]))
                }
                sequence += 1
            }
            let next = start + UInt64(Double(sequence) * interval)
            let after = benchNanos()
            if next > after { try await Task.sleep(for: .nanoseconds(Int(next - after))) }
        }
    }

    private func receive(_ inbound: WebSocketInboundStream, ledger: PairLedger) async throws {
        if ledger.isDrained { return }
        for try await frame in inbound {
            guard let slot = RelayBenchFixture.slot(of: frame.data), slot < ledger.slots else { continue }
            if ledger.arrived(slot) { return }
        }
    }

    /// Runs `body` on a WebSocket session to the relay; fails if the upgrade is refused.
    private func connect(_ session: String, token: String,
                         _ body: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter) async throws -> Void) async throws {
        var logger = Logger(label: "rmb.bench.relay")
        logger.logLevel = .critical
        let ran = RanFlag()
        do {
            try await WebSocketClient.connect(url: url + "?" + token, configuration: .init(maxFrameSize: 1 << 22), logger: logger) { inbound, outbound, _ in
                ran.set()
                try await body(inbound, outbound)
            }
        } catch {
            if !ran.value { throw Failure.connect(session, String(describing: error)) }
            throw error
        }
        if !ran.value { throw Failure.connect(session, "upgrade refused") }
    }

    private func nanos(_ duration: Duration) -> UInt64 {
        UInt64(duration.components.seconds) * 1_000_000_000 + UInt64(duration.components.attoseconds / 1_000_000_000)
    }
}

/// Earliest begin and latest end of a phase run by several tasks.
final class SpanRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var first: UInt64 = .max
    private var last: UInt64 = 0

    func begin(_ time: UInt64) { lock.withLock { first = min(first, time) } }
    func end(_ time: UInt64) { lock.withLock { last = max(last, time) } }
    var seconds: Double { lock.withLock { last > first ? Double(last - first) / 1e9 : 0 } }
}

final class RanFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}

/// Runs `body`, cancelling it (after `onTimeout`) and throwing once `limit` has passed.
func withTimeout(_ limit: Duration, what: String, onTimeout: @escaping @Sendable () -> Void = {},
                 _ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await withDeadline(limit, onTimeout: onTimeout, body)
    } catch is DeadlineExceeded {
        throw RelayTraffic.Failure.timeout(what)
    }
}
