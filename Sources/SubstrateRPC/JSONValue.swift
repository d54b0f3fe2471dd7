import Foundation

/// Any JSON value, as sent to or received from a node.
///
/// JSON-RPC params and results are free-form, so the client passes them around as this enum and
/// the typed helpers (``SubstrateRPCClient/metadata()`` …) pick out what they need with the
/// accessors below, which return `nil` instead of trapping on anything unexpected.
///
/// Numbers are `Double`: exact for integers up to 2^53, which covers what Substrate sends as JSON
/// numbers (versions, nonces); large quantities (balances, hashes) come as hex strings.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

// MARK: Accessors

extension JSONValue {
    public var isNull: Bool { if case .null = self { true } else { false } }

    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }

    public var doubleValue: Double? { if case .number(let value) = self { value } else { nil } }

    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }

    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }

    public var objectValue: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    /// The number as an exact non-negative integer (no fraction, in range), else `nil`.
    public var uint64Value: UInt64? {
        guard case .number(let value) = self, value >= 0, value.rounded() == value,
              let exact = UInt64(exactly: value) else { return nil }
        return exact
    }

    /// The number as an exact integer (no fraction, in range), else `nil`.
    public var int64Value: Int64? {
        guard case .number(let value) = self, value.rounded() == value, let exact = Int64(exactly: value) else { return nil }
        return exact
    }

    /// `object[key]`, or `nil` when this is not an object or has no such key.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// `array[index]`, or `nil` when this is not an array or the index is out of range.
    public subscript(index: Int) -> JSONValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}

// MARK: Literals (handy in params and tests)

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: Codable

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            // Integers go out without a fraction ("5", not "5.0"): nodes parse u32/u64 params strictly.
            if value.rounded() == value, let integer = Int64(exactly: value) {
                try container.encode(integer)
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

// MARK: Text

extension JSONValue {
    /// Parses one JSON document (any top-level value); `nil` for anything that is not JSON.
    public init?(parsing bytes: some Collection<UInt8>) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return nil }
        self = value
    }

    /// Parses one JSON document; `nil` for anything that is not JSON.
    public init?(parsing text: String) {
        self.init(parsing: Array(text.utf8))
    }

    /// Compact JSON text. Encoding a `JSONValue` cannot fail except for non-finite numbers, which
    /// are written as `null` (JSON has no NaN or infinity).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) { return text }
        return "null"
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { jsonText }
}
