import RMBProtocol
import RedisClient

/// `rmb-peer`'s front-end seam: messages for local applications are pushed to Redis lists, as
/// the reference peer does (peer.md §4), every list trimmed at the reference's 10,000 entries.
struct RedisDelivery: LocalDelivery {
    let redis: RedisClient

    /// LPUSH + LTRIM only if the delivery marker was not set yet, so a message is pushed once
    /// however often it is handed over: a re-delivery after a crash between the push and the
    /// store's "delivered" mark, a copy that arrived again after a crash between the push and its
    /// record's commit, or two copies handed off before either record was committed.
    /// Returns 1 when it pushed, 0 when the marker was there.
    static let idempotentPush = """
        if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
          redis.call('LPUSH', KEYS[1], ARGV[1])
          redis.call('LTRIM', KEYS[1], 0, ARGV[2])
          return 1
        end
        return 0
        """

    /// One pipeline for the whole batch, in order.
    func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver] {
        guard !messages.isEmpty else { return [] }
        let commands: [[RedisArgument]] = messages.map { message in
            ["EVAL", .string(Self.idempotentPush), 2, .string(message.list), .string(RedisKeys.delivered(message.key)),
             .bytes(message.json), .integer(RedisKeys.listLimit), .integer(Int(message.ttlSeconds))]
        }
        do {
            let replies = try await redis.pipeline(commands)
            return replies.map { reply in
                if let error = reply.errorMessage { return .failed(error) }
                return reply.integer == 1 ? .handed : .alreadyHanded
            }
        } catch {
            return Array(repeating: .failed(String(describing: error)), count: messages.count)
        }
    }

    func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws {
        guard !replies.isEmpty else { return }
        var commands: [[RedisArgument]] = []
        for (replyTo, response) in replies {
            commands.append(["LPUSH", .string(replyTo), .bytes(response.jsonBytes())])
            commands.append(["LTRIM", .string(replyTo), 0, .integer(RedisKeys.listLimit)])
        }
        let results = try await redis.pipeline(commands)
        if let error = results.lazy.compactMap(\.errorMessage).first { throw RedisError.server(error) }
    }
}
