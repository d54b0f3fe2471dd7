import TwinDirectory
import Logging
import RMBProtocol
import RedisClient
import ServiceLifecycle

/// Consumes `relay.federation.stream` in group `federation` (relay.md §7.1 with the fixes of
/// known-gaps §14/§17): one blocking reader per process, a bounded number of envelopes in flight
/// (a dead domain is skipped by its circuit breaker, and a transient failure waits for its retry
/// in a `RetrySchedule` instead of a slot, so a dead relay does not hold up the others), acked
/// entries are deleted, and entries left pending by any consumer (crashed replica) are
/// reclaimed from the whole group with XAUTOCLAIM. Consumers of dead processes (every restart
/// adds one) are deleted once they hold nothing and have been idle for a long time.
struct FederationWorker: Service {
    let core: RelayCore
    let sender: FederationSender
    let consumer: String
    let concurrency: Int

    private var stream: RedisArgument { .string(RelayStore.federationStream) }
    private var group: RedisArgument { .string(RelayStore.federationGroup) }

    func run() async throws {
        let connection = core.redis.makeDedicatedConnection(label: "federation")
        defer { connection.close() }
        await ensureGroup()
        let schedule = RetrySchedule()
        let stopwatch = core.stopwatch
        // Both run on the first pass, then every 2 s and every cleanup period.
        var lastReclaim: Duration?
        var reclaimCursor = "0-0"
        let cleanupPeriod = core.configuration.federationConsumerCleanupPeriod
        var lastCleanup: Duration?
        await withTaskGroup(of: Void.self) { tasks in
            var inFlight = 0
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                var entries: [(String, [UInt8], Int)] = []
                // Retries that are due: claimed again (which also fetches the bytes); an entry
                // that is gone meanwhile (acked elsewhere) is simply dropped.
                for item in schedule.takeDue(now: stopwatch.elapsed(), limit: max(concurrency, 100)) {
                    if let raw = await claimAgain(item.id) { entries.append((item.id, raw, item.attempt)) } else { schedule.end(item.id) }
                }
                if lastReclaim.map({ stopwatch.elapsed() - $0 >= .seconds(2) }) ?? true {
                    lastReclaim = stopwatch.elapsed()
                    let (next, reclaimed) = await reclaim(from: reclaimCursor)
                    reclaimCursor = next
                    entries += reclaimed.filter { schedule.begin($0.0) }.map { ($0.0, $0.1, 0) }
                }
                if lastCleanup.map({ stopwatch.elapsed() - $0 >= cleanupPeriod }) ?? true {
                    lastCleanup = stopwatch.elapsed()
                    await removeDeadConsumers()
                }
                entries += await readNew(connection).filter { schedule.begin($0.0) }.map { ($0.0, $0.1, 0) }
                for (id, raw, attempt) in entries {
                    if inFlight >= concurrency {
                        await tasks.next()
                        inFlight -= 1
                    }
                    inFlight += 1
                    tasks.addTask { await process(id: id, raw: raw, attempt: attempt, schedule: schedule) }
                }
            }
            await tasks.waitForAll()
        }
    }

    private func ensureGroup() async {
        let reply = try? await core.redis.send("XGROUP", "CREATE", stream, group, "0", "MKSTREAM")
        if let message = reply?.errorMessage, !message.hasPrefix("BUSYGROUP") {
            core.logger.warning("cannot create federation group", metadata: ["error": "\(message)"])
        }
    }

    private func readNew(_ connection: RedisDedicatedConnection) async -> [(String, [UInt8])] {
        do {
            let reply = try await connection.blocking(
                ["XREADGROUP", "GROUP", group, .string(consumer), "COUNT", 100, "BLOCK", 500, "STREAMS", stream, ">"],
                blockTimeout: .milliseconds(500))
            if let message = reply.errorMessage {
                if message.hasPrefix("NOGROUP") { await ensureGroup() } else {
                    core.logger.warning("federation read failed", metadata: ["error": "\(message)"])
                    try? await core.clock.sleep(for: .milliseconds(500), tolerance: nil)
                }
                return []
            }
            guard let streams = reply.array, let first = streams.first?.array, first.count == 2, let list = first[1].array else { return [] }
            return Self.entries(list)
        } catch {
            if !(error is CancellationError) {
                core.logger.debug("federation read failed", metadata: ["error": "\(error)"])
                try? await core.clock.sleep(for: .milliseconds(500), tolerance: nil)
            }
            return []
        }
    }

    /// One XAUTOCLAIM step over the whole group (entries of any consumer idle long enough, e.g. a
    /// crashed sibling's), continuing from `cursor`; returns the next cursor ("0-0" = wrapped).
    private func reclaim(from cursor: String) async -> (String, [(String, [UInt8])]) {
        let idle = core.configuration.federationReclaimIdle.wholeMilliseconds
        guard let reply = try? await core.redis.send("XAUTOCLAIM", stream, group, .string(consumer), .integer(idle), .string(cursor), "COUNT", 100),
              let parts = reply.array, parts.count >= 2, let list = parts[1].array else { return ("0-0", []) }
        return (parts[0].string ?? "0-0", Self.entries(list))
    }

    /// Deletes the group's consumers of dead processes: any consumer but ours with nothing pending
    /// and an `idle` time above `federationConsumerExpiry`. Entries a dead consumer holds are
    /// moved by XAUTOCLAIM first; the pending check is repeated atomically with the delete,
    /// because DELCONSUMER drops the consumer's pending entries from the group for good. Before
    /// Redis 7.2 `idle` counts from the last read that returned entries, so a quiet live sibling
    /// may be removed too: harmless, it holds nothing and its next delivery recreates it.
    private func removeDeadConsumers() async {
        guard let reply = try? await core.redis.send("XINFO", "CONSUMERS", stream, group), let list = reply.array else { return }
        let limit = core.configuration.federationConsumerExpiry.wholeMilliseconds
        for info in list.compactMap(ConsumerInfo.init) where info.name != consumer && info.pending == 0 && info.idle > limit {
            let result = try? await core.redis.send("EVAL", .string(Self.deleteIfEmpty), 1, stream, group, .string(info.name))
            if result?.integer == 0 {
                core.logger.info("removed dead federation consumer", metadata: ["consumer": "\(info.name)", "idle_ms": "\(info.idle)"])
            } else if let message = result?.errorMessage {
                core.logger.warning("cannot remove federation consumer", metadata: ["consumer": "\(info.name)", "error": "\(message)"])
            }
        }
    }

    /// KEYS[1] stream, ARGV[1] group, ARGV[2] consumer: DELCONSUMER's reply (0) if the consumer
    /// holds nothing, -1 (kept) otherwise.
    private static let deleteIfEmpty = "if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then "
        + "return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) else return -1 end"

    /// Claims one of our postponed entries again (resetting its idle time) and returns its bytes;
    /// nil when it is no longer pending (acked and deleted meanwhile).
    private func claimAgain(_ id: String) async -> [UInt8]? {
        guard let reply = try? await core.redis.send("XCLAIM", stream, group, .string(consumer), 0, .string(id)),
              let list = reply.array else { return nil }
        return Self.entries(list).first { $0.0 == id }?.1
    }

    private static func entries(_ list: [RedisReply]) -> [(String, [UInt8])] {
        list.compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else { return nil }
            var index = 0
            while index + 1 < fields.count {
                if fields[index].string == "msg", let bytes = fields[index + 1].bytes { return (id, bytes) }
                index += 2
            }
            return (id, [])
        }
    }

    private func process(id: String, raw: [UInt8], attempt: Int, schedule: RetrySchedule) async {
        let envelope: RMBEnvelope
        do { envelope = try RMBEnvelope(wire: raw) } catch {
            core.logger.warning("dropping unparsable federation entry", metadata: ["id": "\(id)", "error": "\(error)"])
            await finish(id)
            schedule.end(id)
            return
        }
        // Retry later with back-off (known-gaps §17) without holding a concurrency slot. The
        // entry stays pending under this consumer; the back-off stays well under the reclaim
        // idle time and the retry claims it again, so XAUTOCLAIM (meant for entries of dead
        // consumers) does not hand it to a sibling meanwhile.
        let idle = core.configuration.federationReclaimIdle
        let delay = min(Duration.milliseconds(min(500 << min(attempt, 5), 10_000)), idle / 2)
        var outcome = await forward(envelope, raw: raw)
        if case .transient(let reason) = outcome,
           !FederationGiveUp.retryCanLand(after: delay, envelope: envelope, nowMillis: unixNowMillis()) {
            // A retry could not land in time: the failure is final for this envelope, and the
            // sender hears why while its request still lives, not a bare "expired" after it.
            core.metrics.federationGaveUp()
            core.logger.info("federation gave up before expiry", metadata: ["uid": "\(envelope.uid)", "reason": "\(reason)"])
            outcome = .permanent(RelayErrorText.undeliverable(reason))
        }
        switch outcome {
        case .delivered:
            await finish(id)
            schedule.end(id)
        case .permanent(let text):
            await replyError(envelope, text: text)
            await finish(id)
            schedule.end(id)
        case .transient(let reason):
            core.logger.debug("federation will retry", metadata: ["uid": "\(envelope.uid)", "reason": "\(reason)", "in": "\(delay)"])
            _ = schedule.postpone(id, attempt: attempt + 1, until: core.stopwatch.elapsed() + delay)
        }
    }

    private func forward(_ envelope: RMBEnvelope, raw: [UInt8]) async -> ForwardOutcome {
        guard envelope.isValid(now: unixNow()) else { return .permanent(RelayErrorText.expired) }
        let twin: Twin?
        do { twin = try await core.twins.twin(id: envelope.destination.twin) } catch {
            return .transient("twin lookup failed: \(error)")
        }
        guard let twin else { return .permanent("remote relay rejected permanently: self twin not found!") }
        guard !twin.relays.isEmpty else { return .permanent("remote relay rejected permanently: relay is not set for this twin") }
        return await sender.forward(raw, relays: twin.relays,
                                    budget: FederationGiveUp.attemptBudget(envelope: envelope, nowMillis: unixNowMillis()))
    }

    private func replyError(_ envelope: RMBEnvelope, text: String) async {
        guard envelope.hasSource, envelope.source.twin != 0,
              let bytes = ErrorReplies.fromFederation(envelope, text: text) else { return }
        do { try await core.router.deliver(bytes, to: SessionID(address: envelope.source)) } catch {
            core.logger.warning("cannot return federation error to sender", metadata: ["error": "\(error)"])
        }
    }

    private func finish(_ id: String) async {
        _ = try? await core.redis.pipeline([
            ["XACK", stream, group, .string(id)],
            ["XDEL", stream, .string(id)],
        ])
    }
}


/// One consumer of an `XINFO CONSUMERS` reply: a flat key/value array in RESP2 (`name`,
/// `pending`, `idle`, and more in newer Redis). nil for any other shape, so an unexpected reply
/// skips the consumer instead of deleting it.
struct ConsumerInfo: Equatable {
    var name: String
    var pending: Int64
    var idle: Int64

    init(name: String, pending: Int64, idle: Int64) { self.name = name; self.pending = pending; self.idle = idle }

    init?(_ reply: RedisReply) {
        guard let fields = reply.array, fields.count % 2 == 0 else { return nil }
        var name: String?, pending: Int64?, idle: Int64?
        for index in stride(from: 0, to: fields.count, by: 2) {
            switch fields[index].string {
            case "name": name = fields[index + 1].string
            case "pending": pending = fields[index + 1].integer
            case "idle": idle = fields[index + 1].integer
            default: break
            }
        }
        guard let name, let pending, let idle else { return nil }
        self.init(name: name, pending: pending, idle: idle)
    }
}

extension Duration {
    /// Whole milliseconds (saturating), as Redis commands take them.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds < Int64.max / 1000 else { return Int64.max }
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
