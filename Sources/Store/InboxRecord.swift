/// Identity of a received envelope for de-duplication: the same uid may legitimately arrive from
/// different twins (multi-`dst` replies) and as different kinds (request vs. response).
public struct InboxKey: Sendable, Hashable, CustomStringConvertible {
    public var source: UInt32
    public var uid: String
    public var kind: EnvelopeKind

    public init(source: UInt32, uid: String, kind: EnvelopeKind) {
        self.source = source
        self.uid = uid
        self.kind = kind
    }

    /// source twin ‖ uid component ‖ kind.
    var bytes: [UInt8] {
        var writer = ByteWriter(capacity: 48)
        writer.u32(source)
        writer.raw(UIDKey.encode(uid))
        writer.u8(kind.rawValue)
        return writer.bytes
    }

    public var description: String { String(source) + "/" + uid + "/" + kind.description }
}

/// What the peer records when an envelope arrives.
public struct InboxDraft: Sendable, Hashable {
    public var key: InboxKey
    /// The envelope's own deadline: the key is kept until then, so a copy arriving later (via a
    /// second relay, or re-sent after a crash) is still recognised. Add clock-skew margin here.
    public var deadline: StoreTime
    /// What must reach local Redis (kept only until `markDelivered`).
    public var payload: [UInt8]

    public init(key: InboxKey, deadline: StoreTime, payload: [UInt8]) {
        self.key = key
        self.deadline = deadline
        self.payload = payload
    }
}

/// Outcome of `Inbox.record`.
public enum InboxOutcome: Sendable, Hashable {
    /// First time seen: stored as pending delivery under `pendingSeq`. Deliver, then `markDelivered`.
    case new(pendingSeq: UInt64)
    /// Seen before (delivered or still pending): drop this copy.
    case duplicate(delivered: Bool)
    /// Seen before and already answered: do not deliver this copy, re-send `reply` to its source
    /// instead (the requester lost it). Given at most once per `StoredReply.resendInterval`;
    /// duplicates in between are `.duplicate(delivered: true)`.
    case answered(reply: StoredReply)
}

/// A received envelope not yet pushed to local Redis (replayed after a restart).
public struct InboxPending: Sendable, Hashable {
    public var pendingSeq: UInt64
    public var key: InboxKey
    public var deadline: StoreTime
    public var payload: [UInt8]
    public var receivedAt: StoreTime
}

/// The stored value of an inbox key. The uid is kept in full (the key may hold only its hash).
struct InboxRecord {
    var uid: String
    var deadline: StoreTime
    var receivedAt: StoreTime
    /// Set while delivery is pending; nil once delivered (then `payload` is empty).
    var pendingSeq: UInt64?
    var payload: [UInt8]
    /// For a request: the reply this peer sent, re-sent when the request arrives again.
    var reply: StoredReply?
    /// When `reply` was last handed back for a re-send (nil: never).
    var replyResentAt: StoreTime?

    /// Version 1 has no reply; version 2 appends it. Records without a reply are still written
    /// as version 1, so a store only grows version-2 records once replies are attached.
    private static let formatVersion: UInt8 = 1
    private static let withReplyVersion: UInt8 = 2

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: payload.count + uid.utf8.count + 56 + (reply?.envelope.count ?? 0))
        writer.u8(reply == nil ? Self.formatVersion : Self.withReplyVersion)
        writer.string(uid)
        writer.u64(deadline.millis)
        writer.u64(receivedAt.millis)
        if let pendingSeq {
            writer.u8(1)
            writer.u64(pendingSeq)
        } else {
            writer.u8(0)
        }
        writer.blob(payload)
        if let reply {
            reply.write(to: &writer)
            writer.u64(replyResentAt?.millis ?? 0)
        }
        return writer.bytes
    }

    init(uid: String, deadline: StoreTime, receivedAt: StoreTime, pendingSeq: UInt64?, payload: [UInt8]) {
        self.uid = uid
        self.deadline = deadline
        self.receivedAt = receivedAt
        self.pendingSeq = pendingSeq
        self.payload = payload
    }

    /// The reply to hand back for a duplicate arriving at `now`, if one is stored and it was not
    /// handed back within the last `StoredReply.resendInterval`; records the hand-back.
    mutating func replyToResend(now: StoreTime) -> StoredReply? {
        guard let reply, reply.deadline > now else { return nil }
        if let last = replyResentAt, now.millis < last.millis &+ StoredReply.resendInterval { return nil }
        replyResentAt = now
        return reply
    }

    init(decoding bytes: [UInt8]) throws(StoreError) {
        do {
            var reader = ByteReader(bytes)
            let version = try reader.u8()
            guard version == Self.formatVersion || version == Self.withReplyVersion else {
                throw StoreError.corrupt(database: Databases.inbox, reason: "unknown record version")
            }
            uid = try reader.string()
            deadline = StoreTime(millis: try reader.u64())
            receivedAt = StoreTime(millis: try reader.u64())
            pendingSeq = try reader.u8() == 0 ? nil : try reader.u64()
            payload = try reader.blob()
            if version == Self.withReplyVersion {
                reply = try StoredReply.read(from: &reader, database: Databases.inbox)
                let resent = try reader.u64()
                replyResentAt = resent == 0 ? nil : StoreTime(millis: resent)
            }
            guard reader.isAtEnd else { throw StoreError.corrupt(database: Databases.inbox, reason: "trailing bytes") }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.corrupt(database: Databases.inbox, reason: "truncated record")
        }
    }
}
