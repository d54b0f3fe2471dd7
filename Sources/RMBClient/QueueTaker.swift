import Foundation
import RedisClient

/// Takes the oldest entries of one or more Redis lists in one round trip, waiting up to `wait`
/// for the first: `BLMPOP` (Redis 7) takes up to `limit` entries of the first non-empty list;
/// on an older Redis, `BRPOP` takes one and `RPOP` with a count the rest of that list.
/// Lists are LPUSHed by their producers, so the right end is the oldest.
///
/// Shared by everything in the package that consumes a queue: the client's reply reader, the
/// server library and `rmb service echo`.
package struct QueueTaker {
    package struct Taken: Sendable {
        /// The list the entries came from.
        package var list: String
        /// Oldest first.
        package var entries: [[UInt8]]
    }

    let connection: RedisDedicatedConnection
    let lists: [String]
    var wait: Duration
    private var useBLMPOP = true

    package init(connection: RedisDedicatedConnection, lists: [String], wait: Duration = .seconds(1)) {
        self.connection = connection
        self.lists = lists
        self.wait = wait
    }

    /// Entries taken, or nil when nothing arrived within `wait`. `commands` (e.g. the answers to
    /// the previous take) go first in the same write; their error replies are in `commandErrors`
    /// (the take itself still happened).
    package mutating func take(limit: Int, after commands: [[RedisArgument]] = []) async throws
        -> (taken: Taken?, commandErrors: [String]) {
        let keys = lists.map { RedisArgument.string($0) }
        let seconds = RedisArgument.string(Self.seconds(wait))
        var first = commands
        var errors: [String] = []
        if useBLMPOP && limit > 1 {
            let reply = try await waiting(["BLMPOP", seconds, .integer(keys.count)] + keys + ["RIGHT", "COUNT", .integer(limit)],
                                          after: first, errors: &errors)
            first = []
            if case .error = reply {
                useBLMPOP = false
            } else {
                // [key, [oldest, …]] or null after the timeout.
                guard let pair = reply.array, pair.count == 2, let list = pair[0].string else { return (nil, errors) }
                return (Taken(list: list, entries: (pair[1].array ?? []).compactMap(\.bytes)), errors)
            }
        }
        let reply = try await waiting(["BRPOP"] + keys + [seconds], after: first, errors: &errors)
        guard let pair = reply.array, pair.count == 2, let list = pair[0].string, let oldest = pair[1].bytes else { return (nil, errors) }
        guard limit > 1 else { return (Taken(list: list, entries: [oldest]), errors) }
        // A Redis before 6.2 has no count on RPOP: one at a time then.
        guard let more = try? await connection.send(["RPOP", .string(list), .integer(limit - 1)]) else {
            return (Taken(list: list, entries: [oldest]), errors)
        }
        return (Taken(list: list, entries: [oldest] + (more.array ?? []).compactMap(\.bytes)), errors)
    }

    /// `command` (blocking up to `wait`) after `commands` in one write, and its reply.
    private func waiting(_ command: [RedisArgument], after commands: [[RedisArgument]], errors: inout [String]) async throws -> RedisReply {
        if commands.isEmpty { return try await connection.blocking(command, blockTimeout: wait) }
        let replies = try await connection.blocking(pipeline: commands + [command], blockTimeout: wait)
        for case let .error(message) in replies.dropLast() { errors.append(message) }
        guard let last = replies.last else { throw RedisError.protocolError("no reply to \(commands.count + 1) commands") }
        return last
    }

    /// Redis takes blocking timeouts in (decimal) seconds; 0 would block forever.
    static func seconds(_ duration: Duration) -> String {
        let millis = max(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000, 1)
        return String(format: "%d.%03d", millis / 1000, millis % 1000)
    }
}
