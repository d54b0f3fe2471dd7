import Foundation
import Logging
import RMBProtocol
import RedisClient
import Store

/// Takes local JSON messages from Redis without a loss window: `BLMOVE` moves each message into
/// a processing list, and it is removed from there only after the store holds what it became.
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
    let wakePostman: @Sendable () -> Void
    let metrics: PeerMetrics
    let logger: Logger
    /// Messages taken per round: one store commit (one fsync) covers the whole batch.
    var batchSize = 128

    private var processing: String { RedisKeys.processing(queue) }
    private var isRequestQueue: Bool { queue == RedisKeys.local }

    func run() async {
        let connection = redis.makeDedicatedConnection(label: "intake:\(queue)")
        defer { connection.close() }
        await recover()
        while !Task.isCancelled {
            do {
                let reply = try await connection.blocking(["BLMOVE", .string(queue), .string(processing), "RIGHT", "LEFT", 1],
                                                          blockTimeout: .seconds(1))
                guard let first = reply.bytes else { continue }
                // Take what else is waiting, without blocking, in one round trip.
                let more = try await connection.pipeline(Array(repeating: ["LMOVE", .string(queue), .string(processing), "RIGHT", "LEFT"],
                                                               count: batchSize - 1))
                try await handle([first] + more.compactMap(\.bytes), fresh: true)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("local intake error; retrying", metadata: ["queue": "\(queue)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Finishes what a previous run left in the processing list (oldest first).
    private func recover() async {
        do {
            let reply = try await redis.send(["LRANGE", .string(processing), 0, -1])
            let items = (reply.array ?? []).compactMap(\.bytes)
            guard !items.isEmpty else { return }
            logger.info("recovering messages left by a previous run", metadata: ["queue": "\(queue)", "count": "\(items.count)"])
            try await handle(items.reversed(), fresh: false)
        } catch {
            logger.error("could not recover the processing list", metadata: ["queue": "\(queue)", "error": "\(error)"])
        }
    }

    /// `items` in arrival order; with `fresh`, they are the only entries of the processing list
    /// (item i at index count−1−i).
    private func handle(_ items: [[UInt8]], fresh: Bool) async throws {
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
                let uid = UUID().uuidString.lowercased()
                if fresh, let marked = UIDMarker.write(uid, into: bytes) {
                    stamps.append(["LSET", .string(processing), .integer(items.count - 1 - i), .bytes(marked)])
                    current[i] = marked
                }
                uids.append(uid)
            }
            if !stamps.isEmpty { _ = try await redis.pipeline(stamps) }
            for (bytes, uid) in zip(current, uids) {
                guard let uid else { continue }
                await pipeline.prepare(request: bytes, uid: uid, into: &prepared)
            }
        } else {
            for bytes in items { await pipeline.prepare(response: bytes, into: &prepared) }
        }
        let failures = await pipeline.commit(prepared)
        wakePostman()
        metrics.localAccepted.increment(by: max(0, current.count - failures.count))
        metrics.localRefused.increment(by: failures.count)
        var commands: [[RedisArgument]] = []
        for failure in failures {
            commands.append(["LPUSH", .string(failure.replyTo), .bytes(failure.response.jsonBytes())])
            commands.append(["LTRIM", .string(failure.replyTo), 0, .integer(RedisKeys.listLimit)])
        }
        for bytes in current { commands.append(["LREM", .string(processing), 1, .bytes(bytes)]) }
        _ = try await redis.pipeline(commands)
    }
}

/// The `rmb_uid` key the peer adds to its own processing copy of a request.
enum UIDMarker {
    static let key = "rmb_uid"

    static func read(_ bytes: [UInt8]) -> String? {
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
