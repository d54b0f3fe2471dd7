import RMBCrypto

/// The 32-byte "mini secret" that drives every key of a twin (identity.md §2): the ed25519
/// seed, the sr25519 mini secret and the secp256k1 e2e scalar at once.
public struct MiniSecret: Sendable, Hashable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(SecretError) {
        guard bytes.count == 32 else { throw .invalidSeedLength(bytes.count) }
        self.bytes = bytes
    }

    /// substrate-bip39: PBKDF2-HMAC-SHA512 over the mnemonic's **entropy** (not the sentence),
    /// salt `"mnemonic"` (empty passphrase), 2048 rounds, first 32 bytes.
    public init(mnemonic: Mnemonic) throws(SecretError) {
        do {
            let seed = try OpenSSL.pbkdf2SHA512(password: mnemonic.entropy, salt: Array("mnemonic".utf8), iterations: 2048, length: 64)
            self.bytes = Array(seed.prefix(32))
        } catch {
            throw .derivationFailed(error.description)
        }
    }

    /// The two forms the peer accepts (identity.md §1): a BIP39 mnemonic, or `0x` + 64 hex digits.
    public init(parsing text: String) throws(SecretError) {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") {
            let hex = trimmed.dropFirst(2)
            guard hex.count == 64 else { throw .invalidSeedDigits(hex.count) }
            guard let bytes = Hex.decode(String(hex)) else { throw .invalidHex }
            try self.init(bytes: bytes)
        } else {
            let mnemonic: Mnemonic
            do { mnemonic = try Mnemonic(phrase: trimmed) } catch { throw .mnemonic(error) }
            try self.init(mnemonic: mnemonic)
        }
    }
}

public enum SecretError: Error, Equatable, Sendable, CustomStringConvertible {
    case mnemonic(MnemonicError)
    case invalidHex
    case invalidSeedLength(Int)
    case invalidSeedDigits(Int)
    case derivationFailed(String)

    public var description: String {
        switch self {
        case .mnemonic(let e): e.description
        case .invalidHex: "invalid seed: not hexadecimal (expected 0x followed by 64 hex digits)"
        case .invalidSeedLength(let n): "invalid seed: \(n) bytes (expected 32)"
        case .invalidSeedDigits(let n): "invalid seed: \(n) hex digits (expected 0x followed by 64 hex digits)"
        case .derivationFailed(let d): "key derivation failed: \(d)"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...end])
    }
}
