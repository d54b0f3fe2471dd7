/// The signed reply this peer sent for a received request, kept with the request's inbox record
/// until the request's deadline. The protocol has no delivery acknowledgement: a relay deletes
/// a frame once written to the requester's socket, so a requester killed before storing it loses
/// the reply and re-sends its request (same uid, same signed bytes). The inbox recognises that
/// copy as a duplicate, and instead of dropping it silently the peer re-sends this reply, while
/// the local service still never sees the request twice.
public struct StoredReply: Sendable, Hashable {
    /// `.response` or `.error`.
    public var kind: EnvelopeKind
    /// The signed envelope bytes, exactly as first sent (the requester's inbox de-duplicates them).
    public var envelope: [UInt8]
    /// The reply envelope's own deadline; a re-send after it would be refused by the requester.
    public var deadline: StoreTime

    public init(kind: EnvelopeKind, envelope: [UInt8], deadline: StoreTime) {
        self.kind = kind
        self.envelope = envelope
        self.deadline = deadline
    }

    /// Duplicates of one request arriving in a burst (a relay re-delivering its stream) re-send
    /// the reply at most once per this interval, so a replayed request cannot multiply traffic.
    static let resendInterval: UInt64 = 1_000

    func write(to writer: inout ByteWriter) {
        writer.u8(kind.rawValue)
        writer.u64(deadline.millis)
        writer.blob(envelope)
    }

    static func read(from reader: inout ByteReader, database: String) throws -> StoredReply {
        guard let kind = EnvelopeKind(rawValue: try reader.u8()) else {
            throw StoreError.corrupt(database: database, reason: "unknown reply kind")
        }
        let deadline = StoreTime(millis: try reader.u64())
        return StoredReply(kind: kind, envelope: try reader.blob(), deadline: deadline)
    }
}
