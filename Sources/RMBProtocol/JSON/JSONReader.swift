/// A strict RFC 8259 reader for the peer's Redis JSON messages.
///
/// Every request and reply that crosses the local Redis is parsed once, so this sits on the
/// peer's hot path; Foundation's `JSONDecoder` cost several times more than the rest of the
/// message handling. It parses into a small tree (`JSONValue`), never traps on any input, and
/// bounds nesting so hostile input cannot exhaust the stack.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text, validated against the JSON grammar; converted on demand.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// What a type error names: "a string", "null", …
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

struct JSONReader {
    /// Deeper input is refused (the messages themselves nest two levels).
    static let maximumDepth = 64

    /// Parses one JSON text (surrounding whitespace allowed, nothing else).
    static func parse(_ bytes: some Collection<UInt8>) throws(JSONMessageError) -> JSONValue {
        let result: Result<JSONValue, JSONMessageError>
        if let direct = bytes.withContiguousStorageIfAvailable({ buffer in Self.parse(buffer: buffer) }) {
            result = direct
        } else {
            result = Array(bytes).withUnsafeBufferPointer { Self.parse(buffer: $0) }
        }
        return try result.get()
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONMessageError> {
        var reader = JSONReader(buffer: buffer)
        do throws(JSONMessageError) {
            reader.skipWhitespace()
            let value = try reader.value(depth: 0)
            reader.skipWhitespace()
            guard reader.position == buffer.count else { throw reader.failure("unexpected text after the JSON value") }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    private let buffer: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

    private func failure(_ what: String) -> JSONMessageError {
        JSONMessageError("invalid JSON: \(what) at byte \(position)")
    }

    private var current: UInt8? { position < buffer.count ? buffer[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(JSONMessageError) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard buffer.count - position >= count else { throw failure("truncated literal") }
        let start = literal.utf8Start
        for offset in 0..<count where buffer[position + offset] != start[offset] {
            throw failure("invalid literal")
        }
        position += count
        return value
    }

    private mutating func value(depth: Int) throws(JSONMessageError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        guard let byte = current else { throw failure("unexpected end") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected character")
        }
    }

    private mutating func object(depth: Int) throws(JSONMessageError) -> JSONValue {
        position += 1
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(8)   // the JSON API's messages have up to 9 fields: one allocation, no regrowth
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("expected a key") }
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("expected ':'") }
            position += 1
            skipWhitespace()
            members[key] = try value(depth: depth + 1)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw failure("expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws(JSONMessageError) -> JSONValue {
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw failure("expected ',' or ']'")
            }
        }
    }

    /// A string: the common escape-free case is one validated UTF-8 copy.
    private mutating func string() throws(JSONMessageError) -> String {
        position += 1
        let start = position
        while let byte = current, byte != UInt8(ascii: "\""), byte != 0x5c, byte >= 0x20 { position += 1 }
        guard let stop = current else { throw failure("unterminated string") }
        if stop == UInt8(ascii: "\"") {
            let text = String(validating: UnsafeBufferPointer(rebasing: buffer[start..<position]), as: UTF8.self)
            guard let text else { throw failure("invalid UTF-8 in a string") }
            position += 1
            return text
        }
        var bytes = Array(buffer[start..<position])
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: bytes, as: UTF8.self) else { throw failure("invalid UTF-8 in a string") }
                return text
            case 0x5c:
                position += 1
                try escape(into: &bytes)
            case 0..<0x20:
                throw failure("control character in a string")
            default:
                bytes.append(byte)
                position += 1
            }
        }
    }

    private mutating func escape(into bytes: inout [UInt8]) throws(JSONMessageError) {
        guard let byte = current else { throw failure("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), 0x5c, UInt8(ascii: "/"): bytes.append(byte)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0c)
        case UInt8(ascii: "n"): bytes.append(0x0a)
        case UInt8(ascii: "r"): bytes.append(0x0d)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hex4())
            if (0xd800..<0xdc00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard buffer.count - position >= 2, buffer[position] == 0x5c, buffer[position + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate")
                }
                position += 2
                let low = UInt32(try hex4())
                guard (0xdc00..<0xe000).contains(low) else { throw failure("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
            } else if (0xdc00..<0xe000).contains(scalar) {
                throw failure("unpaired surrogate")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
            bytes.append(contentsOf: String(unicode).utf8)
        default:
            throw failure("invalid escape")
        }
    }

    private mutating func hex4() throws(JSONMessageError) -> UInt16 {
        guard buffer.count - position >= 4 else { throw failure("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = buffer[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() throws(JSONMessageError) -> String {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, isDigit(first) else { throw failure("invalid number") }
        position += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if current == UInt8(ascii: ".") {
            position += 1
            guard let digit = current, isDigit(digit) else { throw failure("invalid number") }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let digit = current, isDigit(digit) else { throw failure("invalid number") }
            skipDigits()
        }
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<position]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { position += 1 }
    }
}
