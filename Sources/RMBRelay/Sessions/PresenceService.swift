import Logging
import RMBProtocol
import RedisClient
import ServiceLifecycle

/// Keeps this process' sessions visible to siblings (presence keys refreshed well within their
/// TTL), evicts sessions stuck in back-pressure for more than 60 s, and makes sure a stream that
/// got entries while its session is here gets drained (periodic sweep, in case a wake-up was lost
/// to a Redis restart).
struct PresenceService: Service {
    let core: RelayCore

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        let period = Duration.seconds(max(1, core.presenceTTLSeconds / 3))
        var ticks = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await core.clock.sleep(for: period, tolerance: nil)
            ticks += 1
            let sessions = core.registry.all
            do { try await core.store.refreshPresence(sessions.map(\.id), ttlSeconds: core.presenceTTLSeconds) } catch {
                core.logger.warning("presence heartbeat failed", metadata: ["error": "\(error)"])
            }
            let now = core.stopwatch.elapsed()
            var live: [Session] = []
            for session in sessions {
                if let since = session.backPressuredSince, now - since > .seconds(60) {
                    core.logger.info("evicting a session in back-pressure", metadata: ["session": "\(session.id)"])
                    core.metrics.evictionsBackPressure.increment()
                    session.terminate()
                } else {
                    live.append(session)
                }
            }
            // Only sessions whose stream holds entries are drained: one pipelined XLEN per
            // session instead of a task and an XRANGE each (10,000 idle sessions would
            // otherwise start 10,000 tasks at once every sweep).
            if ticks % 2 == 0, !live.isEmpty {
                let pending = (try? await core.store.withEntries(live.map(\.id))) ?? Set(live.map(\.id))
                for session in live where pending.contains(session.id) {
                    Task { await core.delivery.drain(session) }
                }
            }
        }
    }
}

/// Reads this process' wake stream (`relay.wake:<process>`): siblings add a session id after
/// queueing an envelope for a session that is connected here, or a `replaced` notice when a
/// newer connection of a session held here registered with them (`SessionTakeover`).
struct WakeListener: Service {
    let core: RelayCore

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        let connection = core.redis.makeDedicatedConnection(label: "wake")
        defer { connection.close() }
        var last = "$"
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let reply: RedisReply
            do {
                reply = try await connection.blocking(
                    ["XREAD", "COUNT", 500, "BLOCK", 1000, "STREAMS", .string(core.store.wakeKey), .string(last)],
                    blockTimeout: .seconds(1))
            } catch {
                if error is CancellationError { return }
                try? await core.clock.sleep(for: .milliseconds(500), tolerance: nil)
                continue
            }
            guard let streams = reply.array, let first = streams.first?.array, first.count == 2, let entries = first[1].array else { continue }
            for entry in entries {
                guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else { continue }
                last = id
                switch WakeNotice(fields: fields) {
                case .drain(let sessionID):
                    if let session = core.registry.session(for: sessionID) {
                        Task { await core.delivery.drain(session) }
                    }
                case .replaced(let sessionID, let generation):
                    if let session = core.registry.announced(sessionID, generation: generation) {
                        core.logger.info("closing a session replaced by a newer connection on another relay process",
                                         metadata: ["session": "\(sessionID)"])
                        session.close(with: .normalClosure)
                    }
                case nil:
                    continue
                }
            }
        }
    }
}
