import RMBCrypto

/// A BIP39 English mnemonic (12, 15, 18, 21 or 24 words) and the entropy it encodes.
/// The checksum is always verified: a typo is refused rather than silently yielding another key.
public struct Mnemonic: Hashable, Sendable, CustomStringConvertible {
    public let words: [String]
    public let entropy: [UInt8]

    public static let validWordCounts = [12, 15, 18, 21, 24]

    /// Parses a phrase. Words are separated by whitespace (the reference expects single spaces;
    /// we also accept runs of spaces, tabs and newlines, which users paste).
    public init(phrase: String) throws(MnemonicError) {
        let words = phrase.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard Self.validWordCounts.contains(words.count) else { throw .invalidWordCount(words.count) }
        var bits: [Bool] = []
        bits.reserveCapacity(words.count * 11)
        for (position, word) in words.enumerated() {
            guard let index = Self.index[word] else { throw .unknownWord(word, position: position + 1) }
            for shift in stride(from: 10, through: 0, by: -1) { bits.append((index >> shift) & 1 == 1) }
        }
        let entropyBits = words.count * 32 / 3
        var entropy = [UInt8](repeating: 0, count: entropyBits / 8)
        for i in 0..<entropyBits where bits[i] { entropy[i / 8] |= 0x80 >> UInt8(i % 8) }
        let checksum = OpenSSL.sha256(entropy)
        for i in 0..<(entropyBits / 32) where bits[entropyBits + i] != ((checksum[i / 8] >> (7 - UInt8(i % 8))) & 1 == 1) {
            throw .invalidChecksum
        }
        self.words = words
        self.entropy = entropy
    }

    /// Encodes 16, 20, 24, 28 or 32 bytes of entropy.
    public init(entropy: [UInt8]) throws(MnemonicError) {
        guard [16, 20, 24, 28, 32].contains(entropy.count) else { throw .invalidEntropyLength(entropy.count) }
        let checksum = OpenSSL.sha256(entropy)
        var bits: [Bool] = []
        for byte in entropy { for s in stride(from: 7, through: 0, by: -1) { bits.append((byte >> UInt8(s)) & 1 == 1) } }
        for i in 0..<(entropy.count * 8 / 32) { bits.append((checksum[i / 8] >> (7 - UInt8(i % 8))) & 1 == 1) }
        var words: [String] = []
        for chunk in stride(from: 0, to: bits.count, by: 11) {
            var index = 0
            for bit in bits[chunk..<chunk + 11] { index = index << 1 | (bit ? 1 : 0) }
            words.append(BIP39EnglishWords.all[index])
        }
        self.words = words
        self.entropy = entropy
    }

    /// A fresh random mnemonic from libsodium's CSPRNG.
    public static func generate(wordCount: Int = 12) throws(MnemonicError) -> Mnemonic {
        guard validWordCounts.contains(wordCount) else { throw .invalidWordCount(wordCount) }
        return try Mnemonic(entropy: Sodium.randomBytes(wordCount * 4 / 3))
    }

    /// The words joined by single spaces.
    public var phrase: String { words.joined(separator: " ") }
    public var description: String { phrase }

    private static let index: [String: Int] = {
        var map: [String: Int] = [:]
        for (i, word) in BIP39EnglishWords.all.enumerated() { map[word] = i }
        return map
    }()

    /// Exposed for tests: the embedded English word list.
    public static var englishWordList: [String] { BIP39EnglishWords.all }
}

public enum MnemonicError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidWordCount(Int)
    case unknownWord(String, position: Int)
    case invalidChecksum
    case invalidEntropyLength(Int)

    public var description: String {
        switch self {
        case .invalidWordCount(let n): "invalid mnemonic: \(n) words (expected 12, 15, 18, 21 or 24)"
        case .unknownWord(let w, let p): "invalid mnemonic: word \(p) '\(w.prefix(32))' is not in the BIP39 English word list"
        case .invalidChecksum: "invalid mnemonic: checksum does not match (a word is wrong or out of order)"
        case .invalidEntropyLength(let n): "invalid entropy length \(n) (expected 16, 20, 24, 28 or 32 bytes)"
        }
    }
}
