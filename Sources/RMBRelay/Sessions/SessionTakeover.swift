import RMBProtocol
import RedisClient

/// Session replacement across relay processes sharing one Redis (relay.md §3, known-gaps §10).
///
/// Every registration takes a generation from a Redis counter in the same script that moves the
/// session's presence key to this process. When the key named another process, that process gets
/// a `replaced` notice on its wake stream carrying the new generation, and closes its connection
/// for that session only if the connection's own generation is lower. Generations are ordered by
/// Redis, so the newest registration always survives, wherever it is and however the notices
/// race: an older connection never closes a newer one (the reference's bug).
extension RelayStore {
    static let generationKey = "relay.session.generation"

    private static let registerScript = """
        local gen = redis.call('INCR', KEYS[2])
        local prev = redis.call('GET', KEYS[1])
        redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
        redis.call('SET', KEYS[3], gen, 'EX', tonumber(ARGV[2]))
        if prev and prev ~= ARGV[1] then
          local wake = 'relay.wake:' .. prev
          redis.call('XADD', wake, 'MAXLEN', '~', 1000, '*', 'replaced', ARGV[3], 'g', gen)
          redis.call('EXPIRE', wake, 3600)
        end
        return gen
        """

    /// Heartbeat: refreshes presence keys (and their generation) that are missing or ours, never
    /// one that names another process (a newer connection there owns the session; overwriting it
    /// would hide it from fail-fast and wake-ups once our older connection goes away and releases
    /// the key). KEYS: presence and generation key of each session, in pairs.
    private static let refreshScript = """
        for i = 1, #KEYS, 2 do
          local owner = redis.call('GET', KEYS[i])
          if (not owner) or owner == ARGV[1] then
            redis.call('SET', KEYS[i], ARGV[1], 'EX', tonumber(ARGV[2]))
            redis.call('EXPIRE', KEYS[i + 1], tonumber(ARGV[2]))
          end
        end
        return 0
        """

    /// Deletes the presence key only if it names this process and was set by the registration
    /// of `generation` (or carries no generation): a connection that closes must not delete the
    /// claim a newer connection of the same session on this process has just made, or siblings
    /// would no longer hear of later registrations.
    private static let releaseScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        local gen = redis.call('GET', KEYS[2])
        if gen and ARGV[2] ~= '' and gen ~= ARGV[2] then return 0 end
        redis.call('DEL', KEYS[1], KEYS[2])
        return 1
        """

    /// Claims `session` for this process and returns the registration's generation.
    func registerPresence(_ session: SessionID, ttlSeconds: Int) async throws(StoreError) -> UInt64 {
        let reply: RedisReply
        do {
            reply = try await redis.send("EVAL", .string(Self.registerScript), 3, .string(session.presenceKey), .string(Self.generationKey),
                                         .string(session.presenceGenerationKey),
                                         .string(processID), .integer(ttlSeconds), .string(session.text))
        } catch { throw StoreError(error) }
        if let message = reply.errorMessage { throw StoreError("redis error: \(message)") }
        guard let generation = reply.integer, generation > 0 else { throw StoreError("unexpected generation reply") }
        return UInt64(generation)
    }

    /// Gives up `session`'s presence when its connection with `generation` (nil: unknown) closes
    /// and nothing else of it is here (see `releaseScript`). Best effort: the key expires anyway.
    func releasePresence(_ session: SessionID, generation: UInt64?) async {
        _ = try? await redis.send("EVAL", .string(Self.releaseScript), 2, .string(session.presenceKey), .string(session.presenceGenerationKey),
                                  .string(processID), .string(generation.map(String.init) ?? ""))
    }

    /// Heartbeat for the sessions connected here (see `refreshScript`), in batches.
    func refreshPresence(_ sessions: [SessionID], ttlSeconds: Int) async throws(StoreError) {
        var start = 0
        while start < sessions.count {
            let batch = sessions[start..<min(start + 500, sessions.count)]
            start += batch.count
            let arguments: [RedisArgument] = ["EVAL", .string(Self.refreshScript), .integer(2 * batch.count)]
                + batch.flatMap { [.string($0.presenceKey), .string($0.presenceGenerationKey)] } + [.string(processID), .integer(ttlSeconds)]
            do {
                let reply = try await redis.send(arguments)
                if let message = reply.errorMessage { throw StoreError("redis error: \(message)") }
            } catch let error as StoreError { throw error } catch { throw StoreError(error) }
        }
    }
}

/// One entry of a process' wake stream: "drain this session's stream" (`s <session>`, written by
/// `RelayStore.wake`) or "a newer connection of this session registered elsewhere"
/// (`replaced <session> g <generation>`). Older relays only know the first kind and skip the other.
enum WakeNotice: Equatable {
    case drain(SessionID)
    case replaced(SessionID, generation: UInt64)

    init?(fields: [RedisReply]) {
        let texts = fields.compactMap(\.string)
        guard texts.count == fields.count, texts.count >= 2, let address = try? RMBAddress(text: texts[1]) else { return nil }
        let session = SessionID(address: address)
        switch texts[0] {
        case "replaced":
            guard texts.count == 4, texts[2] == "g", let generation = UInt64(texts[3]) else { return nil }
            self = .replaced(session, generation: generation)
        default:
            guard texts.count == 2 else { return nil }
            self = .drain(session)
        }
    }
}
