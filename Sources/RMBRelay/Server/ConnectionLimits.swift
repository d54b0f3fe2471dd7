/// What one connection may take from the relay: a relay listens on a public port, and anyone can
/// open sockets and hold them. Each stage of a connection has a deadline, and the number of
/// open connections is capped globally and per client address (the relay never runs out of file
/// descriptors because of its listener: see ``effectiveMaxConnections(fileLimit:)``).
public struct ConnectionLimits: Sendable, Equatable {
    /// From accept until the connection is a WebSocket session or its first HTTP request head is
    /// in: the TLS handshake, the request head and the token check. Slow heads (slowloris) and
    /// sockets that never send a byte end here.
    public var handshakeTimeout: Duration = .seconds(10)
    /// An HTTP request's body must be in this long after its head (the size is capped by
    /// `maxBodySize`).
    public var requestTimeout: Duration = .seconds(30)
    /// A plain HTTP connection (federation, metrics) with no request in progress is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// A WebSocket session that sent nothing for this long is pinged; one still silent after a
    /// second interval is closed. A client that only receives stays up by answering the pings.
    public var pingInterval: Duration = .seconds(30)
    /// Open connections (of every stage) above which new ones are closed at accept; nil = as
    /// many as the file limit allows.
    public var maxConnections: Int? = nil
    /// Open connections from one client address (IPv4, or IPv6 /64) above which new ones from it
    /// are closed at accept. Generous: a farm's nodes behind one NAT share an address.
    public var maxConnectionsPerAddress: Int = 4096
    /// File descriptors kept free of client connections for Redis, federation and logs.
    public static let reservedDescriptors = 256

    public init() {}

    /// The global cap: the configured one, never above the open file limit minus the reserve
    /// (at least 16, so a tiny limit still admits someone).
    public func effectiveMaxConnections(fileLimit: Int) -> Int {
        let room = max(16, fileLimit - Self.reservedDescriptors)
        return min(maxConnections ?? room, room)
    }
}
