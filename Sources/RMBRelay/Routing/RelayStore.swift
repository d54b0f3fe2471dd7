import RedisClient

/// Failure of a Redis operation of the relay, with the detail text used in error replies.
struct StoreError: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
    init(_ detail: String) { self.detail = detail }
    init(_ error: any Error) { detail = (error as? RedisError)?.description ?? String(describing: error) }
}

/// The relay's Redis keys (relay.md §6, §7, §13) plus presence for scale-out:
/// `relay.presence:<session>` holds the id of the process that has the session (TTL heartbeat;
/// `relay.presence.gen:<session>` the generation of the registration that set it, see
/// SessionTakeover), and `relay.wake:<process>` is a stream of session ids whose streams a
/// sibling just filled.
struct RelayStore: Sendable {
    static let federationStream = "relay.federation.stream"
    static let federationGroup = "federation"
    static let streamMaxLen = 10_000
    static let streamTTL = 3600

    let redis: RedisClient
    /// This process' id (presence values, wake stream name, federation consumer name).
    let processID: String

    var wakeKey: String { "relay.wake:" + processID }

    struct Enqueued { var presentOn: String? }

    /// `XADD stream:<id> MAXLEN ~ 10000 * _ <bytes>` + `EXPIRE 3600`, atomically, and reads the
    /// session's presence in the same transaction (so a session that registers concurrently
    /// either sees the entry in its first drain or gets a wake-up).
    func enqueue(_ bytes: [UInt8], to session: SessionID) async throws(StoreError) -> Enqueued {
        let replies: [RedisReply]
        do {
            replies = try await redis.pipeline([
                ["MULTI"],
                ["XADD", .string(session.streamKey), "MAXLEN", "~", .integer(Self.streamMaxLen), "*", "_", .bytes(bytes)],
                ["EXPIRE", .string(session.streamKey), .integer(Self.streamTTL)],
                ["GET", .string(session.presenceKey)],
                ["EXEC"],
            ])
        } catch { throw StoreError(error) }
        guard let exec = replies.last else { throw StoreError("no reply to EXEC") }
        if let message = replies.compactMap(\.errorMessage).first ?? exec.errorMessage { throw StoreError("redis error: \(message)") }
        guard let results = exec.array, results.count == 3 else { throw StoreError("transaction aborted") }
        if let message = results[0].errorMessage { throw StoreError("redis error: \(message)") }
        return Enqueued(presentOn: results[2].string)
    }

    /// Tells process `owner` that `session`'s stream has new entries.
    func wake(_ session: SessionID, on owner: String) async {
        _ = try? await redis.pipeline([
            ["XADD", .string("relay.wake:" + owner), "MAXLEN", "~", 1000, "*", "s", .string(session.text)],
            ["EXPIRE", .string("relay.wake:" + owner), 3600],
        ])
    }

    /// Up to `count` entries after `lastID` (exclusive; nil = from the start).
    func read(_ session: SessionID, after lastID: String?, count: Int) async throws(StoreError) -> [(id: String, fields: [[UInt8]])] {
        let start = lastID.map { "(" + $0 } ?? "-"
        let reply: RedisReply
        do { reply = try await redis.send("XRANGE", .string(session.streamKey), .string(start), "+", "COUNT", .integer(count)) } catch {
            throw StoreError(error)
        }
        if let message = reply.errorMessage { throw StoreError("redis error: \(message)") }
        guard let entries = reply.array else { return [] }
        return entries.compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else { return nil }
            return (id, fields.compactMap(\.bytes))
        }
    }

    /// The sessions among `sessions` whose stream holds at least one entry (pipelined XLEN,
    /// in chunks so one round trip never carries an unbounded number of commands).
    func withEntries(_ sessions: [SessionID]) async throws(StoreError) -> Set<SessionID> {
        var found: Set<SessionID> = []
        var start = 0
        while start < sessions.count {
            let chunk = sessions[start..<min(start + 1000, sessions.count)]
            start += chunk.count
            let replies: [RedisReply]
            do { replies = try await redis.pipeline(chunk.map { ["XLEN", .string($0.streamKey)] }) } catch { throw StoreError(error) }
            for (session, reply) in zip(chunk, replies) where (reply.integer ?? 1) > 0 { found.insert(session) }
        }
        return found
    }

    func delete(_ session: SessionID, ids: [String]) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        do {
            let reply = try await redis.send(["XDEL", .string(session.streamKey)] + ids.map { .string($0) })
            if let message = reply.errorMessage { throw StoreError("redis error: \(message)") }
        } catch let error as StoreError { throw error } catch { throw StoreError(error) }
    }

    // MARK: Presence

    func presence(_ session: SessionID) async throws(StoreError) -> String? {
        do {
            let reply = try await redis.send("GET", .string(session.presenceKey))
            if let message = reply.errorMessage { throw StoreError("redis error: \(message)") }
            return reply.string
        } catch let error as StoreError { throw error } catch { throw StoreError(error) }
    }

    // MARK: Federation

    func enqueueFederation(_ bytes: [UInt8]) async throws(StoreError) {
        let reply: RedisReply
        do { reply = try await redis.send("XADD", .string(Self.federationStream), "*", "msg", .bytes(bytes)) } catch {
            throw StoreError("redis error: \(error)")
        }
        if let message = reply.errorMessage { throw StoreError("redis error: \(message)") }
    }
}
