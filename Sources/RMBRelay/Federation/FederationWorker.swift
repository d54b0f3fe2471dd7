import TwinDirectory
import Logging
import RMBProtocol
import RedisClient
import ServiceLifecycle

/// Consumes `relay.federation.stream` in group `federation` (relay.md §7.1 with the fixes of
/// known-gaps §14/§17): one blocking reader per process, a bounded number of envelopes in flight
/// (a dead domain is skipped by its circuit breaker, so it does not hold up the others), acked
/// entries are deleted, and entries left pending by any consumer (crashed replica, transient
/// failure) are reclaimed from the whole group with XAUTOCLAIM.
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
        var lastReclaim = ContinuousClock.now - .seconds(10)
        await withTaskGroup(of: Void.self) { tasks in
            var inFlight = 0
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                var entries: [(String, [UInt8])] = []
                if ContinuousClock.now - lastReclaim >= .seconds(2) {
                    lastReclaim = .now
                    entries += await reclaim()
                }
                entries += await readNew(connection)
                for (id, raw) in entries {
                    if inFlight >= concurrency {
                        await tasks.next()
                        inFlight -= 1
                    }
                    inFlight += 1
                    tasks.addTask { await process(id: id, raw: raw) }
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
                    try? await Task.sleep(for: .milliseconds(500))
                }
                return []
            }
            guard let streams = reply.array, let first = streams.first?.array, first.count == 2, let list = first[1].array else { return [] }
            return Self.entries(list)
        } catch {
            if !(error is CancellationError) {
                core.logger.debug("federation read failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
            return []
        }
    }

    private func reclaim() async -> [(String, [UInt8])] {
        let idle = Int(core.configuration.federationReclaimIdle.components.seconds * 1000)
        guard let reply = try? await core.redis.send("XAUTOCLAIM", stream, group, .string(consumer), .integer(idle), "0-0", "COUNT", 100),
              let parts = reply.array, parts.count >= 2, let list = parts[1].array else { return [] }
        return Self.entries(list)
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

    private func process(id: String, raw: [UInt8], attempt: Int = 0) async {
        let envelope: RMBEnvelope
        do { envelope = try RMBEnvelope(wire: raw) } catch {
            core.logger.warning("dropping unparsable federation entry", metadata: ["id": "\(id)", "error": "\(error)"])
            await finish(id)
            return
        }
        let outcome = await forward(envelope, raw: raw)
        switch outcome {
        case .delivered:
            await finish(id)
        case .permanent(let text):
            await replyError(envelope, text: text)
            await finish(id)
        case .transient(let reason):
            // Retry from here with back-off (known-gaps §17), touching the entry so XAUTOCLAIM
            // (meant for entries of dead consumers) does not hand it to someone else meanwhile.
            let delay = Duration.milliseconds(min(500 << min(attempt, 5), 10_000))
            core.logger.debug("federation will retry", metadata: ["uid": "\(envelope.uid)", "reason": "\(reason)", "in": "\(delay)"])
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            _ = try? await core.redis.send("XCLAIM", stream, group, .string(consumer), 0, .string(id), "JUSTID")
            await process(id: id, raw: raw, attempt: attempt + 1)
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
        return await sender.forward(raw, relays: twin.relays)
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
