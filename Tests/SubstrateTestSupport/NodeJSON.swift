import Foundation

/// A JSON value for the replay node, kept as compact JSON text so it is trivially `Sendable`.
///
/// The replay node is independent of the client under test (it also serves the TFChain tests,
/// which talk through that client), so it has its own JSON, written with literals
/// (`["specVersion": 100, "transactionVersion": 1]`, `nil`, `"0x00"`) or from any
/// `JSONSerialization` value with ``init(any:)``, and read back with `JSONSerialization`.
public struct NodeJSON: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// Raw JSON text, written as is (nothing checks it: tests may want invalid JSON).
    public init(text: String) {
        self.text = text
    }

    /// Any `JSONSerialization` value (String, NSNumber/Int/Double/Bool, NSNull, arrays, dictionaries).
    public init(any value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
        self.text = String(decoding: data, as: UTF8.self)
    }

    /// "0x…" hex of `bytes`, as Substrate sends byte strings.
    public static func hex(_ bytes: some Sequence<UInt8>) -> NodeJSON {
        NodeJSON(stringLiteral: "0x" + bytes.map { String(format: "%02x", $0) }.joined())
    }

    /// The parsed value (`NSNull` for null), or nil when the text is not JSON.
    public var value: Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
    }

    public var string: String? { value as? String }
    public var int: Int? { (value as? NSNumber)?.intValue }
    public var isNull: Bool { value is NSNull }

    public var description: String { text }
}

extension NodeJSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { text = "null" }
    public init(booleanLiteral value: Bool) { text = value ? "true" : "false" }
    public init(integerLiteral value: Int) { text = String(value) }
    public init(floatLiteral value: Double) { text = String(value) }

    public init(stringLiteral value: String) {
        // A string fragment cannot fail to serialize; the fallback only satisfies the compiler.
        text = (try? NodeJSON(any: value).text) ?? "\"\""
    }

    public init(arrayLiteral elements: NodeJSON...) {
        text = "[" + elements.map(\.text).joined(separator: ",") + "]"
    }

    public init(dictionaryLiteral elements: (String, NodeJSON)...) {
        text = "{" + elements.map { NodeJSON(stringLiteral: $0.0).text + ":" + $0.1.text }.joined(separator: ",") + "}"
    }
}
