import RMBIdentity
/// Parsing of twin fields typed by people (CLI flags, file values) that have no type of their own.
public enum TwinValueParsing {
    /// A twin id in decimal: 1...4294967295 (0 is never a real twin).
    public static func id(_ text: String) throws(TwinValueError) -> UInt32 {
        guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let id = UInt32(text), id != 0
        else { throw .invalidID(text) }
        return id
    }

    /// An e2e public key in hex (optional `0x`): must be a 33-byte compressed secp256k1 point
    /// encoding (`02`/`03` prefix). The curve check itself is left to the e2e code.
    public static func e2ePublicKey(_ text: String) throws(TwinValueError) -> [UInt8] {
        guard let bytes = Hex.decode(text) else { throw .invalidPublicKey(text, "not hex") }
        try checkE2EPublicKey(bytes, shown: text)
        return bytes
    }

    /// Length and prefix check shared by the file writer and the parsers.
    static func checkE2EPublicKey(_ bytes: [UInt8], shown: String) throws(TwinValueError) {
        guard bytes.count == 33 else { throw .invalidPublicKey(shown, "expected 33 bytes (66 hex digits), got \(bytes.count)") }
        guard bytes[0] == 0x02 || bytes[0] == 0x03 else {
            throw .invalidPublicKey(shown, "a compressed secp256k1 key starts with 02 or 03")
        }
    }
}

/// A field value that cannot be used for a twin. Descriptions are single lines.
public enum TwinValueError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidID(String)
    case invalidPublicKey(String, String)

    public var description: String {
        switch self {
        case let .invalidID(text):
            "invalid twin id \(String(reflecting: Self.excerpt(text))): expected a whole number from 1 to 4294967295"
        case let .invalidPublicKey(text, reason):
            "invalid e2e public key \(String(reflecting: Self.excerpt(text))): \(reason)"
        }
    }

    private static func excerpt(_ text: String) -> String {
        text.count <= 80 ? text : String(text.prefix(77)) + "..."
    }
}
