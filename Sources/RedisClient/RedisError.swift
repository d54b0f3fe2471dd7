/// Failures of a Redis call. Anything but `.server` and `.invalidArgument` means the connection
/// is broken: `RedisClient` replaces it on the next call, a bare `RedisConnection` must be
/// reopened. Whether a failed command ran on the server is unknown (it may have).
public enum RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Could not connect (or AUTH/SELECT failed), with the reason.
    case connectionFailed(String)
    /// Read/write failed or the server closed the connection.
    case io(String)
    /// No reply within the command timeout (or the blocking command's timeout plus margin).
    case timeout
    /// The server sent something hiredis could not parse.
    case protocolError(String)
    /// An error reply, raised only by `RedisReply.checked()`.
    case server(String)
    /// The connection was closed, interrupted, or is broken from an earlier failure.
    case closed
    /// A Redis URL or address that cannot be parsed.
    case invalidURL(String)
    /// A command the client refuses to send (e.g. an empty argument list).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .connectionFailed(text): "cannot connect to Redis: \(text)"
        case let .io(text): "Redis connection failed: \(text)"
        case .timeout: "Redis command timed out"
        case let .protocolError(text): "Redis protocol error: \(text)"
        case let .server(text): "Redis error reply: \(text)"
        case .closed: "Redis connection is closed"
        case let .invalidURL(text): "invalid Redis address: \(text)"
        case let .invalidArgument(text): "invalid Redis command: \(text)"
        }
    }
}
