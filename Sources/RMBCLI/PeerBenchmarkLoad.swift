import Foundation
import NIOCore
import NIOPosix
import RMBProtocol
import RedisClient
import Synchronization

/// Where one bench run sends its requests and reads its replies: through an rmb-peer (client
/// request on `msgbus.system.local`, reply on a run-private `ret` list) or, for the bare-Redis
/// baseline, straight to the echo service's queue (service request on `msgbus.<cmd>`, reply on
/// `msgbus.system.reply`). Both are the same LPUSH/BRPOP round trip; the first has RMB in it.
struct PeerBenchRoute: Sendable {
    let requestQueue: String
    let replyQueue: String
    let makeRequest: @Sendable (_ reference: String) -> [UInt8]
    /// `ref` and whether the reply is an error, or nil for bytes that are not a reply.
    let parseReply: @Sendable ([UInt8]) -> (reference: String?, isError: Bool)?

    /// Requests to `destination`'s `command` through the peer whose Redis the client uses.
    static func peer(destination: UInt32, command: String, payload: [UInt8], ttl: UInt64, replyQueue: String) -> PeerBenchRoute {
        PeerBenchRoute(
            requestQueue: RedisKeys.local, replyQueue: replyQueue,
            makeRequest: { reference in
                ClientRequest(reference: reference, command: command, expiration: ttl, data: payload,
                              destinations: [destination], replyTo: replyQueue).jsonBytes()
            },
            parseReply: { bytes in
                guard let response = try? ClientResponse.parse(bytes) else { return nil }
                return (response.reference, response.error != nil)
            })
    }

    /// The same request straight into the echo service's queue, as a peer would hand it over.
    static func bareRedis(command: String, payload: [UInt8], ttl: UInt64) -> PeerBenchRoute {
        PeerBenchRoute(
            requestQueue: RedisKeys.command(command), replyQueue: RedisKeys.reply,
            makeRequest: { reference in
                ServiceRequest(reference: reference, source: "1", command: command, expiration: ttl, data: payload,
                               tags: nil, schema: nil, now: UInt64(Date().timeIntervalSince1970)).jsonBytes()
            },
            parseReply: { bytes in
                guard let response = try? ServiceResponse.parse(bytes) else { return nil }
                return (response.reference, response.error != nil)
            })
    }
}

/// How a run paces its requests.
enum PeerBenchPacing: Sendable {
    /// Closed loop: `window` requests in flight, a new one for every reply.
    case closed(window: Int)
    /// Open loop at a fixed rate; latency counts from each request's due time.
    case fixed(perSecond: Double)
}

/// The open loop's clock: sleeps until the next request is due (at most 50 ms, to notice the
/// end), then hands the requests whose due time has come to `send`
/// (their indices, and each one's due time); none while more than 100,000 wait for replies, and
/// those are counted as skipped (the peer has stalled).
///
/// It sleeps on an event loop's timer, not `Task.sleep`: Swift's sleep goes through Dispatch's
/// timer threads (three more thread wake-ups per request at low rates, on the CPUs the bench
/// measures), and how late the generator wakes counts as latency. That lateness is returned too,
/// so a reader can tell the generator's delay from the system's.
struct PeerBenchFixedRate {
    let rate: Double
    let start: UInt64
    let end: UInt64

    struct Result {
        /// Due requests not sent because 100,000 waited for replies.
        var skipped = 0
        /// For each wake-up that sent, how long after the first request's due time it came.
        var lateness: [UInt64] = []
    }

    func run(ledger: PeerBenchLedger,
             send: (_ due: Range<Int>, _ dueTime: (Int) -> UInt64) async throws -> Void) async throws -> Result {
        let interval = 1e9 / rate
        let dueTime = { (index: Int) in start + UInt64(Double(index) * interval) }
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        var next = 0
        var result = Result()
        result.lateness.reserveCapacity(Int(Double(end - start) / interval) + 1)
        while true {
            let now = peerBenchNanos()
            if now >= end { return result }
            let dueCount = Int(Double(now - start) / interval) + 1
            if dueCount > next {
                result.lateness.append(now - dueTime(next))
                if ledger.sent - ledger.answered > 100_000 {
                    result.skipped += dueCount - next
                } else {
                    try await send(next..<dueCount, dueTime)
                }
                next = dueCount
            }
            let wake = dueTime(next)
            let now2 = peerBenchNanos()
            // One wake-up per due request at low rates, not one every ½ ms: the load generator's own
            // timer wake-ups share the CPUs with what it measures.
            if wake > now2 {
                let delay = TimeAmount.nanoseconds(Int64(min(wake - now2, 50_000_000)))
                try await loop.scheduleTask(in: delay) {}.futureResult.get()
            }
        }
    }
}

/// One measured run: warm-up, measured period, then up to `drain` for the last replies.
struct PeerBenchLoad: Sendable {
    let redis: RedisClient
    let route: PeerBenchRoute
    let pacing: PeerBenchPacing
    let warmup: Duration
    let measure: Duration
    let drain: Duration
    /// Called once, `at` after the start of the measured period (the failover kill).
    var event: (at: Duration, action: @Sendable () -> Void)?

    struct Outcome {
        let snapshot: PeerBenchSnapshot
        /// Measured period in bench nanoseconds.
        let measured: Range<UInt64>
        /// When `event` ran.
        let eventAt: UInt64?
        let skippedSends: Int
        /// The open loop's own lateness (``PeerBenchFixedRate/Result/lateness``); empty in a closed loop.
        var senderLateness: [UInt64] = []

        var seconds: Double { Double(measured.upperBound - measured.lowerBound) / 1e9 }
        var throughput: Double { Double(snapshot.replies(arrivedIn: measured)) / seconds }
        var latency: BenchSamples { BenchSamples(nanoseconds: snapshot.latencies(dueIn: measured)) }
        var unanswered: Int { snapshot.unanswered(dueIn: 0..<UInt64.max) }
    }

    /// Shared between the sender, the reader and the event task of one run.
    final class RunFlags: Sendable {
        let sendingDone = Atomic<Bool>(false)
        let eventAt = Atomic<UInt64>(0)
    }

    func run() async throws -> Outcome {
        let prefix = "bench-\(UUID().uuidString.prefix(8).lowercased())-"
        let ledger = PeerBenchLedger(prefix: prefix)
        let replies = redis.makeDedicatedConnection(label: "bench-replies")
        defer { replies.close() }
        _ = try await redis.send(["DEL", .string(route.replyQueue)])
        let start = peerBenchNanos()
        let measureStart = start + nanos(warmup)
        let measureEnd = measureStart + nanos(measure)
        let flags = RunFlags()
        let (credits, creditSink) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        var paced = PeerBenchFixedRate.Result()
        try await withThrowingTaskGroup(of: PeerBenchFixedRate.Result?.self) { group in
            group.addTask {
                try await read(replies, into: ledger, flags: flags, credits: creditSink)
                return nil
            }
            if let event {
                group.addTask {
                    try await Task.sleep(for: .nanoseconds(Int64(measureStart &- peerBenchNanos())) + event.at)
                    flags.eventAt.store(peerBenchNanos(), ordering: .sequentiallyConsistent)
                    event.action()
                    return nil
                }
            }
            group.addTask {
                defer { flags.sendingDone.store(true, ordering: .sequentiallyConsistent) }
                switch pacing {
                case .closed(let window):
                    try await sendClosed(window: window, until: measureEnd, ledger: ledger, credits: credits)
                    return nil
                case .fixed(let rate):
                    return try await sendFixed(rate: rate, start: start, until: measureEnd, ledger: ledger)
                }
            }
            for try await result in group { if let result { paced = result } }
        }
        let at = flags.eventAt.load(ordering: .sequentiallyConsistent)
        return Outcome(snapshot: ledger.snapshot(), measured: measureStart..<measureEnd, eventAt: at == 0 ? nil : at,
                       skippedSends: paced.skipped, senderLateness: paced.lateness)
    }

    /// Keeps `window` requests in flight: tops up whenever the reader reports replies.
    private func sendClosed(window: Int, until end: UInt64, ledger: PeerBenchLedger, credits: AsyncStream<Int>) async throws {
        try await send(window, ledger: ledger, due: peerBenchNanos())
        for await _ in credits {
            let now = peerBenchNanos()
            if now >= end { return }
            let missing = window - (ledger.sent - ledger.answered)
            if missing > 0 { try await send(missing, ledger: ledger, due: now) }
        }
    }

    /// Sends what is due when it is due (several due requests in one LPUSH of up to 256); returns
    /// how many due requests were not sent because the peer had stalled.
    private func sendFixed(rate: Double, start: UInt64, until end: UInt64, ledger: PeerBenchLedger) async throws -> PeerBenchFixedRate.Result {
        try await PeerBenchFixedRate(rate: rate, start: start, end: end).run(ledger: ledger) { due, dueTime in
            // Each request keeps its own due time, even when several leave together.
            var sent = due.lowerBound
            while sent < due.upperBound {
                let count = min(256, due.upperBound - sent)
                try await send(count, ledger: ledger, due: dueTime(sent), spacing: 1e9 / rate)
                sent += count
            }
        }
    }

    /// One LPUSH with `count` requests (the first pushed is the first taken by BRPOP/BLMOVE).
    private func send(_ count: Int, ledger: PeerBenchLedger, due: UInt64, spacing: Double = 0) async throws {
        var arguments: [RedisArgument] = ["LPUSH", .string(route.requestQueue)]
        for offset in 0..<count {
            let index = ledger.register(count: 1, due: due + UInt64(Double(offset) * spacing))
            arguments.append(.bytes(route.makeRequest(ledger.prefix + String(index))))
        }
        _ = try await redis.send(arguments)
    }

    /// Reads replies (BRPOP, then whatever else waits in one RPOP) until the sender is done and
    /// every request is answered, or `drain` after the sender stopped.
    private func read(_ connection: RedisDedicatedConnection, into ledger: PeerBenchLedger, flags: RunFlags,
                      credits: AsyncStream<Int>.Continuation) async throws {
        defer { credits.finish() }
        var drainDeadline: UInt64?
        while true {
            if flags.sendingDone.load(ordering: .sequentiallyConsistent) {
                let deadline = drainDeadline ?? (peerBenchNanos() + nanos(drain))
                drainDeadline = deadline
                if ledger.answered >= ledger.sent || peerBenchNanos() >= deadline { return }
            }
            let reply = try await connection.blocking(["BRPOP", .string(route.replyQueue), "0.2"], blockTimeout: .seconds(1))
            guard let pair = reply.array, pair.count == 2, let first = pair[1].bytes else { continue }
            var items = [first]
            let more = try await connection.send(["RPOP", .string(route.replyQueue), 1000])
            items += (more.array ?? []).compactMap(\.bytes)
            let now = peerBenchNanos()
            for bytes in items {
                if let (reference, isError) = route.parseReply(bytes) {
                    ledger.answer(reference: reference, isError: isError, at: now)
                }
            }
            credits.yield(items.count)
        }
    }
}

func nanos(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
}
