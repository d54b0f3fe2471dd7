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
    let logger: Logger

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
                guard let bytes = reply.bytes else { continue }
                try await handle(bytes, fresh: true)
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
            if !items.isEmpty { logger.info("recovering messages left by a previous run", metadata: ["queue": "\(queue)", "count": "\(items.count)"]) }
            for bytes in items.reversed() { try await handle(bytes, fresh: false) }
        } catch {
            logger.error("could not recover the processing list", metadata: ["queue": "\(queue)", "error": "\(error)"])
        }
    }

    private func handle(_ bytes: [UInt8], fresh: Bool) async throws {
        var current = bytes
        if isRequestQueue {
            var uid = UIDMarker.read(bytes)
            if let existing = uid, (try? store.backlog.get(uid: existing)) != nil {
                // Stored before the crash: only the clean-up was missing.
                _ = try await redis.send(["LREM", .string(processing), 1, .bytes(bytes)])
                return
            }
            if uid == nil {
                let newUID = UUID().uuidString.lowercased()
                if fresh, let marked = UIDMarker.write(newUID, into: bytes) {
                    _ = try await redis.send(["LSET", .string(processing), 0, .bytes(marked)])
                    current = marked
                }
                uid = newUID
            }
            let failures = await pipeline.accept(request: current, uid: uid ?? UUID().uuidString.lowercased())
            for failure in failures {
                _ = try? await redis.pipeline([
                    ["LPUSH", .string(failure.replyTo), .bytes(failure.response.jsonBytes())],
                    ["LTRIM", .string(failure.replyTo), 0, .string(String(RedisKeys.listLimit))],
                ])
            }
        } else {
            await pipeline.accept(response: bytes)
        }
        wakePostman()
        _ = try await redis.send(["LREM", .string(processing), 1, .bytes(current)])
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
