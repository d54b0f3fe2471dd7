import RMBProtocol

/// Where the replies to one outgoing request go (peer.md §4.5, extended): kept in the store
/// instead of Redis `msgbus.backlog.*` keys so replies still reach their client after a peer
/// restart, and with the destinations so a reply from a twin that was never asked is refused
/// (known-gaps #6).
public struct BacklogEntry: Sendable, Hashable {
    public var uid: String
    /// The client's `ref`, echoed in every reply.
    public var reference: String?
    /// The client's `ret` list.
    public var replyTo: String
    /// Plugin that gets the replies ("" = none).
    public var module: String
    /// The twins the request was sent to.
    public var destinations: [UInt32]
    public var deadline: StoreTime

    public init(uid: String, reference: String?, replyTo: String, module: String = "", destinations: [UInt32], deadline: StoreTime) {
        self.uid = uid
        self.reference = reference
        self.replyTo = replyTo
        self.module = module
        self.destinations = destinations
        self.deadline = deadline
    }

    /// Whether a reply from `twin` answers this request.
    public func expects(replyFrom twin: UInt32) -> Bool { destinations.contains(twin) }

    /// The reference's protobuf form, with the remaining ttl at `now` (0 once expired).
    public func protobuf(now: StoreTime) -> RMBBacklog {
        var backlog = RMBBacklog()
        backlog.uid = uid
        if let reference { backlog.reference = reference }
        backlog.replyTo = replyTo
        backlog.module = module
        backlog.ttl = deadline > now ? (deadline.millis - now.millis) / 1000 : 0
        return backlog
    }

    private static let formatVersion: UInt8 = 1

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + uid.utf8.count + replyTo.utf8.count + destinations.count * 4)
        writer.u8(Self.formatVersion)
        writer.string(uid)
        writer.optionalString(reference)
        writer.string(replyTo)
        writer.string(module)
        writer.u32(UInt32(clamping: destinations.count))
        for twin in destinations { writer.u32(twin) }
        writer.u64(deadline.millis)
        return writer.bytes
    }

    init(decoding bytes: [UInt8]) throws(StoreError) {
        do {
            var reader = ByteReader(bytes)
            guard try reader.u8() == Self.formatVersion else { throw StoreError.corrupt(database: Databases.backlog, reason: "unknown record version") }
            uid = try reader.string()
            reference = try reader.optionalString()
            replyTo = try reader.string()
            module = try reader.string()
            let count = try reader.u32()
            // Bounded by the record's size, so a damaged count cannot allocate wildly.
            guard Int(count) <= bytes.count / 4 else { throw StoreError.corrupt(database: Databases.backlog, reason: "bad destination count") }
            var twins: [UInt32] = []
            twins.reserveCapacity(Int(count))
            for _ in 0..<count { twins.append(try reader.u32()) }
            destinations = twins
            deadline = StoreTime(millis: try reader.u64())
            guard reader.isAtEnd else { throw StoreError.corrupt(database: Databases.backlog, reason: "trailing bytes") }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.corrupt(database: Databases.backlog, reason: "truncated record")
        }
    }
}
