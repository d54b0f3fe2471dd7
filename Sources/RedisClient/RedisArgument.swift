/// One argument of a Redis command, as raw bytes so keys and values are binary safe (envelopes
/// carry arbitrary bytes, including zeros). Literals make commands read naturally:
/// `["SETEX", "msgbus.backlog.\(uid)", 300, .bytes(payload)]`.
public struct RedisArgument: Sendable, Hashable, CustomStringConvertible,
    ExpressibleByStringLiteral, ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init<I: BinaryInteger>(_ value: I) { self.bytes = Array(String(value).utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }

    public static func bytes(_ bytes: [UInt8]) -> RedisArgument { RedisArgument(bytes) }
    public static func string(_ string: String) -> RedisArgument { RedisArgument(string) }
    public static func integer<I: BinaryInteger>(_ value: I) -> RedisArgument { RedisArgument(value) }

    /// Printable form for logs (invalid UTF-8 replaced), never used on the wire.
    public var description: String { String(decoding: bytes, as: UTF8.self) }
}
