/// What the peer hands to the outbox: one envelope for one destination twin.
public struct OutboxDraft: Sendable, Hashable {
    /// The envelope uid (shared by all destinations of a multi-`dst` request).
    public var uid: String
    public var destination: UInt32
    public var kind: EnvelopeKind
    /// The signed envelope bytes, or whatever the peer needs to rebuild them.
    public var payload: [UInt8]
    /// After this instant the entry is worthless and the sweep removes it.
    public var deadline: StoreTime
    /// First send allowed from (normally "now": FIFO with everything already due).
    public var notBefore: StoreTime
    /// The entry's sequence number, reserved with ``Store/reserveOutboxSeqs(_:)``; nil: the
    /// writer takes the next one.
    public var reservedSeq: UInt64?

    public init(uid: String, destination: UInt32, kind: EnvelopeKind, payload: [UInt8], deadline: StoreTime, notBefore: StoreTime = .now) {
        self.uid = uid
        self.destination = destination
        self.kind = kind
        self.payload = payload
        self.deadline = deadline
        self.notBefore = notBefore
    }
}

/// An envelope waiting in the outbox until a relay confirmed it or it expired.
public struct OutboxEntry: Sendable, Hashable {
    /// Position in the outbox: assigned at enqueue, strictly increasing, never reused while
    /// the environment lives. The handle for `markAttempt` and `remove`.
    public var seq: UInt64
    public var uid: String
    public var destination: UInt32
    public var kind: EnvelopeKind
    public var payload: [UInt8]
    public var deadline: StoreTime
    /// When the entry is due (again).
    public var nextAttempt: StoreTime
    /// How many times it was handed to a relay.
    public var attempts: UInt32
    /// The relay it was last handed to (so a retry prefers another one).
    public var lastRelay: String?
    public var enqueuedAt: StoreTime

    private static let formatVersion: UInt8 = 1

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: payload.count + uid.utf8.count + 64)
        writer.u8(Self.formatVersion)
        writer.u64(seq)
        writer.string(uid)
        writer.u32(destination)
        writer.u8(kind.rawValue)
        writer.u64(deadline.millis)
        writer.u64(nextAttempt.millis)
        writer.u32(attempts)
        writer.optionalString(lastRelay)
        writer.u64(enqueuedAt.millis)
        writer.blob(payload)
        return writer.bytes
    }

    package init(seq: UInt64, draft: OutboxDraft, enqueuedAt: StoreTime) {
        self.seq = seq
        uid = draft.uid
        destination = draft.destination
        kind = draft.kind
        payload = draft.payload
        deadline = draft.deadline
        nextAttempt = draft.notBefore
        attempts = 0
        lastRelay = nil
        self.enqueuedAt = enqueuedAt
    }

    init(decoding bytes: [UInt8]) throws(StoreError) {
        do {
            var reader = ByteReader(bytes)
            guard try reader.u8() == Self.formatVersion else { throw StoreError.corrupt(database: Databases.outbox, reason: "unknown record version") }
            seq = try reader.u64()
            uid = try reader.string()
            destination = try reader.u32()
            guard let kind = EnvelopeKind(rawValue: try reader.u8()) else {
                throw StoreError.corrupt(database: Databases.outbox, reason: "unknown envelope kind")
            }
            self.kind = kind
            deadline = StoreTime(millis: try reader.u64())
            nextAttempt = StoreTime(millis: try reader.u64())
            attempts = try reader.u32()
            lastRelay = try reader.optionalString()
            enqueuedAt = StoreTime(millis: try reader.u64())
            payload = try reader.blob()
            guard reader.isAtEnd else { throw StoreError.corrupt(database: Databases.outbox, reason: "trailing bytes") }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.corrupt(database: Databases.outbox, reason: "truncated record")
        }
    }
}
