import RMBCrypto

/// End-to-end payload encryption (e2e.md): static secp256k1 ECDH between the two twins,
/// key = SHA-256 of the raw X coordinate, AES-256-GCM with `nonce(12) ‖ ct ‖ tag(16)`.
public struct E2ECipher: Sendable {
    /// The 32-byte AES key shared by this pair of twins (same in both directions).
    public let key: [UInt8]

    public init(key: [UInt8]) throws(E2EError) {
        guard key.count == 32 else { throw .invalidKey("shared key must be 32 bytes") }
        self.key = key
    }

    /// Derives the pair key from our secret and the other twin's `pk` (33 or 65 bytes).
    public init(ownKey: Secp256k1SecretKey, peerPublicKey: [UInt8]) throws(E2EError) {
        do {
            key = try ownKey.sharedKey(with: peerPublicKey)
        } catch {
            throw .invalidKey("k256: \(error.description)")
        }
    }

    /// Encrypts with a fresh random nonce (or a given one, for reproducible tests).
    public func encrypt(_ plaintext: [UInt8], nonce: [UInt8]? = nil) throws(E2EError) -> [UInt8] {
        do throws(CryptoError) {
            let iv: [UInt8]
            if let nonce { iv = nonce } else { iv = try OpenSSL.randomBytes(12) }
            return try iv + OpenSSL.aes256GCMSeal(plaintext, key: key, nonce: iv)
        } catch {
            throw .encryptionFailed(error.description)
        }
    }

    /// Decrypts a cipher payload; too short or tampered data → `invalid cipher data`.
    public func decrypt(_ payload: [UInt8]) throws(E2EError) -> [UInt8] {
        guard payload.count >= 12 + 16 else { throw .invalidCipherData }
        do {
            return try OpenSSL.aes256GCMOpen(payload[12...], key: key, nonce: payload[..<12])
        } catch {
            throw .invalidCipherData
        }
    }
}

/// e2e failures; the texts are the `<detail>` of error 106 (`e2e error: <detail>`).
public enum E2EError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidKey(String)
    case invalidCipherData
    case encryptionFailed(String)

    public var description: String {
        switch self {
        case .invalidKey(let d): d
        case .invalidCipherData: "invalid cipher data"
        case .encryptionFailed(let d): "encryption failed: \(d)"
        }
    }
}
