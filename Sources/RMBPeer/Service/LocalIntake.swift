import Foundation
import Logging
import RedisClient
import RMBEngine
import RMBProtocol
import Redundancy
import Store
import Synchronization

/// Takes local JSON messages from Redis without a loss window: `BLMOVE` (waiting for the next
/// message) and then a script's `LMOVE`s (whatever else waits, up to a batch) move each message
/// into a processing list, and it is removed from there only after the store holds what it
/// became. One pipeline per round carries the clean-up of the batches stored since the last
/// round, the wait and the take, so a lone message costs one round trip to take and a busy queue
/// one per batch.
///
/// With ``OutgoingPipeline/defersCommits`` (the reply queue: nothing waits for an answer's
/// commit) the intake is pipelined: a batch's envelopes leave once its write is queued, its
/// commit waits a few milliseconds for company, and meanwhile the intake takes the next batch;
/// a settler awaits the commits in order and hands their clean-up to the next round (or sends it
/// while the round waits for a message). Up to `batchesCommitting` batches may be committing at
/// once. So the answers of a few milliseconds share one commit and one fsync instead of one
/// each, and a crash before their commit is durable loses nothing: they are still in the
/// processing list. Without it (requests, whose replies wait for their commit) a batch's commit
/// starts at once and the intake awaits it: its clean-up then rides with the next take.
///
/// Requests get a uid stamped into their processing copy (`LSET`, key `rmb_uid`, ignored by
/// parsers) before they are stored, so a restart after a crash re-uses the same uid: the
/// receivers' de-duplication then drops the copy, and a request already stored is recognised
/// by its backlog entry and not stored twice.
struct LocalIntake: Sendable {
    let queue: String
    let redis: RedisClient
    let pipeline: OutgoingPipeline
    let store: Store
    let metrics: PeerMetrics
    let logger: Logger
    /// Messages taken per round: one store commit (one fsync) covers the whole batch.
    var batchSize = 128
    /// Batches whose commit the settler has not seen yet before the intake waits for it.
    var batchesCommitting = 16

    /// The engine's pipeline, with answers (not requests) on deferred commits: see the type.
    init(queue: String, redis: RedisClient, pipeline: OutgoingPipeline, store: Store, metrics: PeerMetrics, logger: Logger) {
        var pipeline = pipeline
        pipeline.defersCommits = !Self.takesRequests(queue)
        self.queue = queue; self.redis = redis; self.pipeline = pipeline
        self.store = store; self.metrics = metrics; self.logger = logger
    }

    private var processing: String { RedisKeys.processing(queue) }
    private var isRequestQueue: Bool { Self.takesRequests(queue) }
    /// Whether `queue` is the requests' (`msgbus.system.local`) rather than the answers'.
    private static func takesRequests(_ queue: String) -> Bool { queue == RedisKeys.local }

    /// A batch whose write is queued: its processing copies leave the list once it is durable.
    private struct Committing: Sendable {
        let queued: OutgoingPipeline.Queued
        /// The batch's processing copies (stamped), as they are in the list.
        let items: [[UInt8]]
    }

    func run() async {
        let connection = redis.makeDedicatedConnection(label: "intake:\(queue)")
        defer { connection.close() }
        let cleanup = Cleanup()
        while !Task.isCancelled {
            // After a start, and after any failed round (Redis gone mid-batch), whatever sits in
            // the processing list is finished first, so no message waits there for the next
            // restart. No batch of this run is committing then (the last round's settler is done).
            guard await recover(after: cleanup) else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            await withDiscardingTaskGroup { group in
                let committing = LaneBuffer<Committing>()
                group.addTask { await self.settle(committing, into: cleanup) }
                await takeUntilFailure(via: connection, committing: committing, cleanup: cleanup)
                await committing.finish()
            }
        }
        let rest = cleanup.take()
        if !rest.isEmpty { _ = try? await redis.pipeline(rest) }
    }

    /// Rounds of clean-up, wait and take until cancelled, or until a round fails (then returns
    /// after a pause, for recovery).
    private func takeUntilFailure(via connection: RedisDedicatedConnection, committing: LaneBuffer<Committing>,
                                  cleanup: Cleanup) async {
        while !Task.isCancelled {
            let commands = cleanup.take(forWaitingRound: true)
            var sent = false
            do {
                let replies = try await connection.blocking(pipeline: commands + [waitCommand, takeCommand],
                                                            blockTimeout: .seconds(1))
                cleanup.roundEnded()
                sent = true
                guard replies.count >= 2 else { throw RedisError.protocolError("\(replies.count) replies to the take pipeline") }
                let (wait, take) = (replies[replies.count - 2], replies[replies.count - 1])
                if let error = wait.errorMessage ?? take.errorMessage { throw RedisError.server(error) }
                // Arrival order: the one BLMOVE waited for, then the rest, oldest first.
                let items = (wait.bytes.map { [$0] } ?? []) + (take.array ?? []).compactMap(\.bytes)
                if items.isEmpty { continue }
                let (queued, stamped) = try await queueWrite(of: items, via: connection)
                if pipeline.defersCommits {
                    // Its commit waits for company: the next batch is taken meanwhile.
                    await committing.append(Committing(queued: queued, items: stamped), waitingBelow: batchesCommitting)
                } else {
                    // Its commit starts now and ends with one fsync: its clean-up then rides
                    // with the next take, with no round trip of its own.
                    _ = cleanup.append(cleanupCommands(after: await queued.outcome(), items: stamped))
                }
            } catch is CancellationError {
                cleanup.roundEnded()
                if !sent { cleanup.putBack(commands) }
                return
            } catch {
                cleanup.roundEnded()
                // Only the LREMs are repeated, and only when they were not sent: they are
                // idempotent, an error reply is not.
                if !sent { cleanup.putBackRetryable(commands) }
                logger.warning("local intake error; retrying", metadata: ["queue": "\(queue)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                return
            }
        }
    }

    /// Waits for each batch's commit, in order, and queues its clean-up (error replies, LREMs)
    /// for the next take; sends it itself while the intake waits for a message (the next take
    /// may be a second away).
    private func settle(_ committing: LaneBuffer<Committing>, into cleanup: Cleanup) async {
        while true {
            let batches = await committing.takeBatch(limit: 64)
            if batches.isEmpty { return }
            var owed: [[RedisArgument]] = []
            for batch in batches { owed += cleanup.append(cleanupCommands(after: await batch.queued.outcome(), items: batch.items)) }
            guard !owed.isEmpty else { continue }
            do {
                _ = try await redis.pipeline(owed)
            } catch {
                cleanup.putBackRetryable(owed)
                logger.warning("could not clean the processing list up; retrying with the next take",
                               metadata: ["queue": "\(queue)", "error": "\(error)"])
            }
        }
    }

    /// Moves up to `batchSize` waiting messages into the processing list in one command (the
    /// oldest first; an empty reply when none waits).
    static let takeScript = """
        local taken = {}
        for i = 1, tonumber(ARGV[1]) do
          local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
          if not item then break end
          taken[i] = item
        end
        return taken
        """

    /// Waits up to a second for the next message (null when none came).
    private var waitCommand: [RedisArgument] {
        ["BLMOVE", .string(queue), .string(processing), "RIGHT", "LEFT", 1]
    }

    /// Runs once `waitCommand` returned: the rest of the batch.
    private var takeCommand: [RedisArgument] {
        ["EVAL", .string(Self.takeScript), 2, .string(queue), .string(processing), .integer(max(0, batchSize - 1))]
    }

    /// Sends the clean-up still owed, then finishes what is left in the processing list (by a
    /// previous run, or a failed round: oldest first). Returns `false` when Redis could not be
    /// read or written (try again later).
    private func recover(after cleanup: Cleanup) async -> Bool {
        let owed = cleanup.take()
        do {
            if !owed.isEmpty { _ = try await redis.pipeline(owed) }
        } catch {
            cleanup.putBackRetryable(owed)
            logger.error("could not clean the processing list up", metadata: ["queue": "\(queue)", "error": "\(error)"])
            return false
        }
        do {
            let reply = try await redis.send(["LRANGE", .string(processing), 0, -1])
            let items = (reply.array ?? []).compactMap(\.bytes)
            guard !items.isEmpty else { return true }
            logger.info("recovering messages left in the processing list", metadata: ["queue": "\(queue)", "count": "\(items.count)"])
            let (queued, stamped) = try await queueWrite(of: items.reversed(), via: nil)
            _ = try await redis.pipeline(cleanupCommands(after: await queued.outcome(), items: stamped))
            return true
        } catch {
            logger.error("could not recover the processing list", metadata: ["queue": "\(queue)", "error": "\(error)"])
            return false
        }
    }

    private func stamp(_ commands: [[RedisArgument]], via connection: RedisDedicatedConnection?) async throws {
        guard !commands.isEmpty else { return }
        if let connection { _ = try await connection.pipeline(commands) } else { _ = try await redis.pipeline(commands) }
    }

    /// `items` in arrival order, at the head of the processing list (item i at index count−1−i):
    /// just moved there, or the whole list left by a previous run. Queues their write and returns
    /// it with the items as they are in the list now (requests stamped).
    ///
    /// A request found without a uid in recovery (the peer died before its stamp landed) is
    /// stamped too, so a second crash before its LREM cannot send it again under another uid.
    private func queueWrite(of items: [[UInt8]], via connection: RedisDedicatedConnection?) async throws -> (OutgoingPipeline.Queued, [[UInt8]]) {
        var current = items
        var prepared = OutgoingPipeline.Prepared()
        if isRequestQueue {
            var stamps: [[RedisArgument]] = []
            var uids: [String?] = []
            for (i, bytes) in items.enumerated() {
                if let uid = UIDMarker.read(bytes) {
                    // Stored before a crash when its backlog exists: only the clean-up was missing.
                    uids.append((try? store.backlog.get(uid: uid)) != nil ? nil : uid)
                    continue
                }
                let uid = TimeOrderedUID.make()
                if let marked = UIDMarker.write(uid, into: bytes) {
                    stamps.append(["LSET", .string(processing), .integer(items.count - 1 - i), .bytes(marked)])
                    current[i] = marked
                }
                uids.append(uid)
            }
            // The stamps travel while the envelopes are signed and encrypted; they must be in
            // Redis before the write is queued (a crash after its commit re-reads the same uids).
            async let stamped: Void = stamp(stamps, via: connection)
            for (bytes, uid) in zip(current, uids) {
                guard let uid else { continue }
                await pipeline.prepare(request: bytes, uid: uid, into: &prepared)
            }
            try await stamped
        } else {
            for bytes in items { await pipeline.prepare(response: bytes, into: &prepared) }
        }
        return (pipeline.queue(prepared), current)
    }

    /// Once a batch is stored (or refused): its error replies, then the LREMs of its items.
    private func cleanupCommands(after failures: [OutgoingPipeline.Undeliverable], items: [[UInt8]]) -> [[RedisArgument]] {
        metrics.localAccepted.increment(by: max(0, items.count - failures.count))
        metrics.localRefused.increment(by: failures.count)
        var commands: [[RedisArgument]] = []
        for failure in failures {
            // Only while the client's reply queue has room (never trimming older replies away).
            commands.append(["EVAL", .string(RedisDelivery.boundedPush), 1, .string(failure.replyTo),
                             .bytes(failure.response.jsonBytes()), .integer(RedisKeys.listCapacity)])
        }
        for bytes in items { commands.append(["LREM", .string(processing), 1, .bytes(bytes)]) }
        return commands
    }

    /// Clean-up commands owed to Redis, in order: they travel with the next round's take, or,
    /// while a round waits for a message, with a pipeline of their own.
    private final class Cleanup: Sendable {
        private struct State {
            var commands: [[RedisArgument]] = []
            /// A round's pipeline (which waits up to a second for a message) is on its way.
            var roundWaits = false
        }

        private let state = Mutex(State())

        /// Queues `more`; returns what is owed (then taken) when the round waits, for the
        /// caller to send now.
        func append(_ more: [[RedisArgument]]) -> [[RedisArgument]] {
            state.withLock { state in
                state.commands += more
                guard state.roundWaits else { return [] }
                defer { state.commands = [] }
                return state.commands
            }
        }

        /// Commands taken but not sent: back at the front.
        func putBack(_ unsent: [[RedisArgument]]) { state.withLock { $0.commands = unsent + $0.commands } }

        /// Commands that may or may not have reached Redis: only the LREMs go back, as they are
        /// idempotent and an error reply is not.
        func putBackRetryable(_ unsent: [[RedisArgument]]) { putBack(unsent.filter { $0.first == "LREM" }) }

        /// Everything owed; `forWaitingRound`: for a round's pipeline, which then waits (until
        /// ``roundEnded()``).
        func take(forWaitingRound: Bool = false) -> [[RedisArgument]] {
            state.withLock { state in
                if forWaitingRound { state.roundWaits = true }
                defer { state.commands = [] }
                return state.commands
            }
        }

        func roundEnded() { state.withLock { $0.roundWaits = false } }
    }
}

/// The `rmb_uid` key the peer adds to its own processing copy of a request.
enum UIDMarker {
    static let key = "rmb_uid"
    private static let keyBytes = Array(key.utf8)
    private static let escapeBytes = Array("\\u".utf8)

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, bytes.count >= needle.count else { return false }
        var index = 0
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == first {
                var matched = 1
                while matched < needle.count, bytes[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return true }
            }
            index += 1
        }
        return false
    }

    static func read(_ bytes: [UInt8]) -> String? {
        // Every fresh request passes here: without the key's name, and without an escape that
        // could spell it, there is nothing to parse.
        guard contains(bytes, keyBytes) || contains(bytes, escapeBytes) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        return object[key] as? String
    }

    /// Inserts `"rmb_uid":"<uid>",` after the opening brace of a JSON object.
    static func write(_ uid: String, into bytes: [UInt8]) -> [UInt8]? {
        guard let open = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0a && $0 != 0x0d }), bytes[open] == UInt8(ascii: "{") else { return nil }
        let rest = bytes[(open + 1)...]
        let isEmptyObject = rest.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0a && $0 != 0x0d }) == UInt8(ascii: "}")
        let field = Array("\"\(key)\":\"\(uid)\"\(isEmptyObject ? "" : ",")".utf8)
        return Array(bytes[...open]) + field + Array(rest)
    }
}
