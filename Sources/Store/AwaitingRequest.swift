/// An outgoing request a relay confirmed, kept (signed bytes and all) until the reply from its
/// destination arrives or its deadline passes. Confirmation by a relay is not delivery: the
/// relay may lose the frame, and the reply may be lost on its way back (a relay deletes a frame
/// once written to a socket, known-gaps #12). Re-sending the same signed bytes is safe: the
/// responder's inbox recognises the uid, its service never sees the request twice, and it
/// answers the copy with the reply it stored (``StoredReply``).
public struct AwaitingRequest: Sendable, Hashable {
    public var uid: String
    public var destination: UInt32
    /// The signed request envelope, exactly as first sent.
    public var envelope: [UInt8]
    /// The request's deadline: nothing is re-sent after it and the sweep removes the record.
    public var deadline: StoreTime
    /// When a relay first confirmed the request.
    public var confirmedAt: StoreTime
    /// When the next periodic re-send is due (nil: no more periodic re-sends).
    public var nextResend: StoreTime?
    /// How many times it was re-sent.
    public var resends: UInt32

    public var key: AwaitingKey { AwaitingKey(uid: uid, destination: destination) }

    private static let formatVersion: UInt8 = 1

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: envelope.count + uid.utf8.count + 48)
        writer.u8(Self.formatVersion)
        writer.string(uid)
        writer.u32(destination)
        writer.u64(deadline.millis)
        writer.u64(confirmedAt.millis)
        writer.u64(nextResend?.millis ?? 0)
        writer.u32(resends)
        writer.blob(envelope)
        return writer.bytes
    }

    init(uid: String, destination: UInt32, envelope: [UInt8], deadline: StoreTime, confirmedAt: StoreTime, nextResend: StoreTime?, resends: UInt32 = 0) {
        self.uid = uid
        self.destination = destination
        self.envelope = envelope
        self.deadline = deadline
        self.confirmedAt = confirmedAt
        self.nextResend = nextResend
        self.resends = resends
    }

    init(decoding bytes: [UInt8]) throws(StoreError) {
        do {
            var reader = ByteReader(bytes)
            guard try reader.u8() == Self.formatVersion else { throw StoreError.corrupt(database: Databases.awaiting, reason: "unknown record version") }
            uid = try reader.string()
            destination = try reader.u32()
            deadline = StoreTime(millis: try reader.u64())
            confirmedAt = StoreTime(millis: try reader.u64())
            let next = try reader.u64()
            nextResend = next == 0 ? nil : StoreTime(millis: next)
            resends = try reader.u32()
            envelope = try reader.blob()
            guard reader.isAtEnd else { throw StoreError.corrupt(database: Databases.awaiting, reason: "trailing bytes") }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.corrupt(database: Databases.awaiting, reason: "truncated record")
        }
    }
}

/// Identity of an awaiting request: one per destination of a (multi-`dst`) request.
public struct AwaitingKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var uid: String
    public var destination: UInt32

    public init(uid: String, destination: UInt32) {
        self.uid = uid
        self.destination = destination
    }

    /// uid component ‖ destination (the uid component is prefix-free, so keys never collide).
    var bytes: [UInt8] {
        var writer = ByteWriter(capacity: 40)
        writer.raw(UIDKey.encode(uid))
        writer.u32(destination)
        return writer.bytes
    }

    /// Store order (the order `Awaiting.entries(after:)` pages in).
    public static func < (lhs: AwaitingKey, rhs: AwaitingKey) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public var description: String { "\(uid)→\(destination)" }
}
