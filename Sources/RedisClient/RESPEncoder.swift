import NIOCore

/// What one call writes: a command, or several commands that must reach the server back to back.
enum RedisRequest: Sendable {
    case command([RedisArgument])
    case pipeline([[RedisArgument]])

    /// How many replies complete the call.
    var replyCount: Int {
        switch self {
        case .command: 1
        case let .pipeline(commands): commands.count
        }
    }
}

/// Outbound: writes a request as RESP arrays of bulk strings (`*N\r\n$len\r\nbytes\r\n…`), the
/// form Redis takes for any command, binary safe. A pipeline becomes one buffer and so one write,
/// so another call's command can never land inside it (MULTI … EXEC, LPUSH + LTRIM).
struct RESPEncoder: MessageToByteEncoder {
    typealias OutboundIn = RedisRequest

    func encode(data: RedisRequest, out: inout ByteBuffer) {
        switch data {
        case let .command(arguments):
            out.reserveCapacity(minimumWritableBytes: Self.size(of: arguments))
            out.writeRESPCommand(arguments)
        case let .pipeline(commands):
            out.reserveCapacity(minimumWritableBytes: commands.reduce(0) { $0 + Self.size(of: $1) })
            for arguments in commands { out.writeRESPCommand(arguments) }
        }
    }

    /// An upper bound of the encoded size (20 digits cover any length).
    private static func size(of arguments: [RedisArgument]) -> Int {
        arguments.reduce(23) { $0 + $1.bytes.count + 25 }
    }
}

extension ByteBuffer {
    mutating func writeRESPCommand(_ arguments: [RedisArgument]) {
        writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count)
        writeStaticString("\r\n")
        for argument in arguments {
            writeInteger(UInt8(ascii: "$"))
            writeDecimal(argument.bytes.count)
            writeStaticString("\r\n")
            writeBytes(argument.bytes)
            writeStaticString("\r\n")
        }
    }

    /// A length as ASCII digits (`String(Int)` is a small string: no allocation).
    private mutating func writeDecimal(_ value: Int) {
        if (0..<10).contains(value) {
            writeInteger(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
        } else {
            writeString(String(value))
        }
    }
}
