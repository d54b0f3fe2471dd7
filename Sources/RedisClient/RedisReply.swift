import Foundation

/// A decoded RESP2 reply (hiredis 0.14 speaks RESP2). A server error such as `WRONGTYPE` is a
/// normal reply (`.error`), not a thrown error: the connection stays usable and MULTI/EXEC or
/// pipelines keep their positions. Use `checked()` to turn it into a thrown `RedisError.server`.
public enum RedisReply: Sendable, Hashable, CustomStringConvertible {
    /// Simple string, e.g. `OK`, `QUEUED`, `PONG`.
    case status(String)
    /// Error reply from the server, e.g. `ERR unknown command`.
    case error(String)
    case integer(Int64)
    /// Bulk string (binary safe).
    case bulk([UInt8])
    /// Null bulk or null array (missing key, BRPOP timeout, aborted EXEC).
    case null
    case array([RedisReply])

    /// Bulk or status as UTF-8 text; `nil` for other kinds or invalid UTF-8.
    public var string: String? {
        switch self {
        case let .status(text): text
        case let .bulk(bytes): String(bytes: bytes, encoding: .utf8)
        default: nil
        }
    }

    /// Bulk bytes (or a status' UTF-8).
    public var bytes: [UInt8]? {
        switch self {
        case let .bulk(bytes): bytes
        case let .status(text): Array(text.utf8)
        default: nil
        }
    }

    /// Integer reply, or a bulk/status holding a decimal integer (e.g. `GET` of a counter).
    public var integer: Int64? {
        switch self {
        case let .integer(value): value
        case .bulk, .status: string.flatMap { Int64($0) }
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case let .array(elements) = self { return elements }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// `true` for the `+OK` status.
    public var isOK: Bool { self == .status("OK") }

    /// The server's error text for `.error`, else `nil`.
    public var errorMessage: String? {
        if case let .error(message) = self { return message }
        return nil
    }

    /// Returns the reply, or throws `RedisError.server` for an error reply.
    @discardableResult
    public func checked() throws(RedisError) -> RedisReply {
        if case let .error(message) = self { throw .server(message) }
        return self
    }

    public var description: String {
        switch self {
        case let .status(text): "+\(text)"
        case let .error(text): "-\(text)"
        case let .integer(value): ":\(value)"
        case let .bulk(bytes): "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .null: "(nil)"
        case let .array(elements): "[\(elements.map(\.description).joined(separator: ", "))]"
        }
    }
}
