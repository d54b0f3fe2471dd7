import Foundation
import RedisClient

/// Takes the oldest entries of one or more Redis lists in one round trip, waiting up to `wait`
/// for the first: `BLMPOP` (Redis 7) takes up to `limit` entries of the first non-empty list;
/// on an older Redis, `BRPOP` takes one and `RPOP` with a count the rest of that list.
/// Lists are LPUSHed by their producers, so the right end is the oldest.
struct QueueTaker {
    let connection: RedisDedicatedConnection
    let lists: [String]
    var wait: Duration = .seconds(1)
    private var useBLMPOP = true

    init(connection: RedisDedicatedConnection, lists: [String], wait: Duration = .seconds(1)) {
        self.connection = connection
        self.lists = lists
        self.wait = wait
    }

    /// The list the entries came from and the entries, oldest first; nil when nothing arrived
    /// within `wait`.
    mutating func take(limit: Int) async throws -> (list: String, entries: [[UInt8]])? {
        let keys = lists.map { RedisArgument.string($0) }
        let seconds = RedisArgument.string(Self.seconds(wait))
        if useBLMPOP && limit > 1 {
            let reply = try await connection.blocking(["BLMPOP", seconds, .integer(keys.count)] + keys + ["RIGHT", "COUNT", .integer(limit)],
                                                      blockTimeout: wait)
            if case .error = reply {
                useBLMPOP = false
            } else {
                // [key, [oldest, …]] or null after the timeout.
                guard let pair = reply.array, pair.count == 2, let list = pair[0].string else { return nil }
                return (list, (pair[1].array ?? []).compactMap(\.bytes))
            }
        }
        let reply = try await connection.blocking(["BRPOP"] + keys + [seconds], blockTimeout: wait)
        guard let pair = reply.array, pair.count == 2, let list = pair[0].string, let first = pair[1].bytes else { return nil }
        guard limit > 1 else { return (list, [first]) }
        // A Redis before 6.2 has no count on RPOP: one at a time then.
        guard let more = try? await connection.send(["RPOP", .string(list), .integer(limit - 1)]) else { return (list, [first]) }
        return (list, [first] + (more.array ?? []).compactMap(\.bytes))
    }

    /// Redis takes blocking timeouts in (decimal) seconds; 0 would block forever.
    static func seconds(_ duration: Duration) -> String {
        let millis = max(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000, 1)
        return String(format: "%d.%03d", millis / 1000, millis % 1000)
    }
}
