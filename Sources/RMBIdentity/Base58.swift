/// Bitcoin-alphabet base58, the text encoding under SS58 addresses (identity.md §3).
///
/// The conversion is the classic quadratic big-number loop: inputs here are a few dozen
/// bytes, so clarity wins over speed. Callers that accept text from outside should bound
/// its length first (``SS58`` does).
public enum Base58 {
    /// The Bitcoin alphabet: no `0`, `O`, `I` or `l`.
    static let alphabet: [UInt8] = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    /// ASCII byte → digit value, or -1 for bytes outside the alphabet.
    private static let digitValues: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = Int8(value) }
        return table
    }()

    /// Encodes bytes; each leading zero byte becomes a leading `1`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let leadingZeros = bytes.prefix(while: { $0 == 0 }).count
        var digits: [UInt8] = []   // base-58 digits, least significant first
        digits.reserveCapacity(bytes.count * 138 / 100 + 1)
        for byte in bytes[leadingZeros...] {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        var text = [UInt8](repeating: alphabet[0], count: leadingZeros)
        text.append(contentsOf: digits.reversed().map { alphabet[Int($0)] })
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes base58 text; each leading `1` becomes a leading zero byte.
    /// Rejects any character outside the alphabet (including whitespace) instead of skipping it.
    public static func decode(_ text: String) throws(Base58Error) -> [UInt8] {
        var leadingZeros = 0
        var seenNonZero = false
        var bytes: [UInt8] = []   // base-256 digits, least significant first
        for (position, scalar) in text.unicodeScalars.enumerated() {
            let value = scalar.isASCII ? digitValues[Int(scalar.value)] : -1
            guard value >= 0 else {
                throw .invalidCharacter(Character(scalar), position: position)
            }
            if value == 0 && !seenNonZero {
                leadingZeros += 1
                continue
            }
            seenNonZero = true
            var carry = Int(value)
            for index in bytes.indices {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(carry & 0xff)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xff))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: leadingZeros) + bytes.reversed()
    }
}

/// Why base58 text could not be decoded.
public enum Base58Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// A character outside the Bitcoin alphabet; `position` counts Unicode scalars from 0.
    case invalidCharacter(Character, position: Int)

    public var description: String {
        switch self {
        case let .invalidCharacter(character, position):
            "invalid base58 character \(String(reflecting: String(character))) at position \(position)"
        }
    }
}
