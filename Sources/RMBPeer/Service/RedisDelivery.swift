import RedisClient
import RMBEngine
import RMBProtocol

/// `rmb-peer`'s front-end seam: messages for local applications are pushed to Redis lists, as
/// the reference peer does (peer.md §4). A list never holds more than the reference's 10,000
/// entries, but instead of trimming the oldest away (known-gaps §13) a message that does not fit
/// is left in the store and pushed once the application has made room.
struct RedisDelivery: LocalDelivery {
    let redis: RedisClient

    /// Callers are applications on Redis: they outlive a crash of this peer.
    var callersLiveInProcess: Bool { false }

    /// LPUSH only if the delivery marker was not set yet, so a message is pushed once however
    /// often it is handed over: a re-delivery after a crash between the push and the store's
    /// "delivered" mark, a copy that arrived again after a crash between the push and its
    /// record's commit, or two copies handed off before either record was committed; and only
    /// while the list has room. Returns 1 when it pushed, 0 when the marker was there, 2 when
    /// the list is full (nothing changed).
    static let idempotentPush = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 2 end
        redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
        redis.call('LPUSH', KEYS[1], ARGV[1])
        return 1
        """

    /// LPUSH of a report while the list has room. Returns 1 when pushed, 2 when full.
    static let boundedPush = """
        if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 2 end
        redis.call('LPUSH', KEYS[1], ARGV[1])
        return 1
        """

    /// One pipeline for the whole batch, in order.
    func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver] {
        guard !messages.isEmpty else { return [] }
        let commands: [[RedisArgument]] = messages.map { message in
            ["EVAL", .string(Self.idempotentPush), 2, .string(message.list), .string(RedisKeys.delivered(message.key)),
             .bytes(message.json), .integer(RedisKeys.listCapacity), .integer(Int(message.ttlSeconds))]
        }
        do {
            let replies = try await redis.pipeline(commands)
            return replies.map { reply in
                if let error = reply.errorMessage { return .failed(error) }
                switch reply.integer {
                case 1: return .handed
                case 2: return .queueFull
                default: return .alreadyHanded
                }
            }
        } catch {
            return Array(repeating: .failed(String(describing: error)), count: messages.count)
        }
    }

    /// A report for a full `ret` list (its client reads none of its replies) is not pushed:
    /// thrown as ``LocalDeliveryError/queueFull``, so the caller logs and counts it.
    func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws {
        guard !replies.isEmpty else { return }
        let commands: [[RedisArgument]] = replies.map { replyTo, response in
            ["EVAL", .string(Self.boundedPush), 1, .string(replyTo), .bytes(response.jsonBytes()), .integer(RedisKeys.listCapacity)]
        }
        let results = try await redis.pipeline(commands)
        if let error = results.lazy.compactMap(\.errorMessage).first { throw RedisError.server(error) }
        let full = zip(replies, results).filter { $1.integer == 2 }.map(\.0.replyTo)
        if !full.isEmpty { throw LocalDeliveryError.queueFull(lists: Array(Set(full)).sorted(), dropped: full.count) }
    }
}
