import RMBProtocol

/// `(twin, sid)`: the identity of one session (relay.md §3). `text` is `"<twin>"` or
/// `"<twin>:<sid>"` (the sid verbatim, it may contain `:`), as used in Redis keys.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public var twin: UInt32
    public var sid: String?

    public init(twin: UInt32, sid: String?) { self.twin = twin; self.sid = sid }

    /// The session an address names (`connection` absent ⇒ no sid).
    public init(address: RMBAddress) {
        self.init(twin: address.twin, sid: address.hasConnection ? address.connection : nil)
    }

    public var text: String { sid.map { "\(twin):\($0)" } ?? String(twin) }
    public var description: String { text }
    /// Offline queue of this session (§6).
    public var streamKey: String { "stream:" + text }
    /// Presence key: which relay process holds this session now.
    public var presenceKey: String { "relay.presence:" + text }
    /// The generation of the registration that set the presence key (SessionTakeover).
    public var presenceGenerationKey: String { "relay.presence.gen:" + text }

    public var address: RMBAddress { RMBAddress(twin: twin, connection: sid) }

    /// Source check of routing step 1: twin equal and connection equal (both absent or same text).
    func matches(_ address: RMBAddress) -> Bool {
        address.twin == twin && (address.hasConnection ? address.connection : nil) == sid
    }
}
