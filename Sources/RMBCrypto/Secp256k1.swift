import CSecp256k1

/// The one place that talks to libsecp256k1: the RMB e2e key (identity.md §4, e2e.md §2).
///
/// One context serves the whole process. It is created and randomized (side-channel blinding)
/// once; afterwards the library only reads it, so concurrent use is safe.
private final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()

    let pointer: OpaquePointer?

    private init() {
        pointer = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE))
        if let pointer {
            let seed = Sodium.randomBytes(32)
            // Randomization only adds blinding; the context stays correct if it fails.
            _ = secp256k1_context_randomize(pointer, seed)
        }
    }

    func get() throws(CryptoError) -> OpaquePointer {
        guard let pointer else { throw .libraryFailure("secp256k1_context_create") }
        return pointer
    }
}

/// A secp256k1 secret scalar (big-endian, in `[1, n−1]`) with its compressed public key.
public struct Secp256k1SecretKey: Sendable {
    private let secret: [UInt8]
    /// 33-byte SEC1 compressed public key (`02|03 ‖ X`): the twin's on-chain `pk`.
    public let compressedPublicKey: [UInt8]

    /// Validates 32 bytes as a scalar in `[1, n−1]` and derives the public key.
    public init(_ bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == 32 else { throw .invalidLength(what: "secp256k1 secret key", expected: 32, got: bytes.count) }
        let context = try Secp256k1Context.shared.get()
        guard secp256k1_ec_seckey_verify(context, bytes) == 1 else { throw .invalidSecretKey }
        var publicKey = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_create(context, &publicKey, bytes) == 1 else { throw .invalidSecretKey }
        secret = bytes
        compressedPublicKey = try Self.serializeCompressed(publicKey, context: context)
    }

    /// Raw 32-byte big-endian X coordinate of `secret · peer`. Deliberately not libsecp256k1's
    /// default ECDH output (SHA-256 of the compressed point): RMB hashes X alone (e2e.md §2).
    public func sharedPointX(with peerPublicKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        let context = try Secp256k1Context.shared.get()
        var peer = try Self.parse(peerPublicKey, context: context)
        var x = [UInt8](repeating: 0, count: 32)
        let copyX: secp256k1_ecdh_hash_function = { output, x32, _, _ in
            guard let output, let x32 else { return 0 }
            output.update(from: x32, count: 32)
            return 1
        }
        guard secp256k1_ecdh(context, &x, &peer, secret, copyX, nil) == 1 else {
            throw .libraryFailure("secp256k1_ecdh")
        }
        return x
    }

    /// The e2e AES-256 key for a peer: `SHA-256(sharedPointX)`. Symmetric between the two twins.
    public func sharedKey(with peerPublicKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        try OpenSSL.sha256(sharedPointX(with: peerPublicKey))
    }

    /// Whether bytes are a usable peer key: SEC1 compressed (33, `02|03`) or uncompressed (65, `04`).
    public static func isValidPublicKey(_ bytes: [UInt8]) -> Bool {
        guard let context = try? Secp256k1Context.shared.get() else { return false }
        return (try? parse(bytes, context: context)) != nil
    }

    /// 65-byte SEC1 uncompressed form (`04 ‖ X ‖ Y`) of a public key given in any accepted encoding.
    public static func uncompressedPublicKey(_ publicKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        let context = try Secp256k1Context.shared.get()
        var parsed = try parse(publicKey, context: context)
        var out = [UInt8](repeating: 0, count: 65)
        var length = 65
        guard secp256k1_ec_pubkey_serialize(context, &out, &length, &parsed, UInt32(SECP256K1_EC_UNCOMPRESSED)) == 1,
              length == 65 else { throw .libraryFailure("secp256k1_ec_pubkey_serialize") }
        return out
    }

    // MARK: Internals

    /// Parses a SEC1 point. Hybrid encodings (`06|07`), which libsecp256k1 would accept, are refused
    /// to match the original's k256 parser.
    private static func parse(_ bytes: [UInt8], context: OpaquePointer) throws(CryptoError) -> secp256k1_pubkey {
        switch (bytes.count, bytes.first) {
        case (33, 0x02), (33, 0x03), (65, 0x04): break
        default: throw .invalidPoint
        }
        var publicKey = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_parse(context, &publicKey, bytes, bytes.count) == 1 else { throw .invalidPoint }
        return publicKey
    }

    private static func serializeCompressed(_ publicKey: secp256k1_pubkey, context: OpaquePointer) throws(CryptoError) -> [UInt8] {
        var publicKey = publicKey
        var out = [UInt8](repeating: 0, count: 33)
        var length = 33
        guard secp256k1_ec_pubkey_serialize(context, &out, &length, &publicKey, UInt32(SECP256K1_EC_COMPRESSED)) == 1,
              length == 33 else { throw .libraryFailure("secp256k1_ec_pubkey_serialize") }
        return out
    }
}
