import Foundation
import CSodium

/// The one place that talks to libsodium: ed25519, BLAKE2b, SHA-512, randomness and the
/// ristretto255 group used by sr25519. Every function checks lengths before touching C and
/// turns libsodium's return codes into ``CryptoError``.
public enum Sodium {
    /// libsodium must be initialised once per process; `sodium_init` is idempotent and thread-safe.
    private static let initialised: Bool = sodium_init() >= 0

    @inline(__always)
    static func ensureInitialised() throws(CryptoError) {
        guard initialised else { throw .libraryFailure("sodium_init failed") }
    }

    // MARK: Randomness

    /// Cryptographically secure random bytes (getrandom / /dev/urandom).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        _ = initialised
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    // MARK: Hashes

    /// BLAKE2b with an output length of 1...64 bytes (no key).
    public static func blake2b(_ data: [UInt8], outputLength: Int) throws(CryptoError) -> [UInt8] {
        try ensureInitialised()
        guard (1...64).contains(outputLength) else { throw .invalidLength(what: "blake2b output", expected: 64, got: outputLength) }
        var out = [UInt8](repeating: 0, count: outputLength)
        let rc = crypto_generichash(&out, outputLength, data, UInt64(data.count), nil, 0)
        guard rc == 0 else { throw .libraryFailure("crypto_generichash") }
        return out
    }

    /// SHA-512 (64 bytes).
    public static func sha512(_ data: [UInt8]) -> [UInt8] {
        _ = initialised
        var out = [UInt8](repeating: 0, count: 64)
        crypto_hash_sha512(&out, data, UInt64(data.count))
        return out
    }

    // MARK: Ed25519 (RFC 8032)

    /// Key pair from a 32-byte seed: (public key 32 bytes, libsodium secret key 64 bytes).
    public static func ed25519KeyPair(seed: [UInt8]) throws(CryptoError) -> (publicKey: [UInt8], secretKey: [UInt8]) {
        try ensureInitialised()
        guard seed.count == 32 else { throw .invalidLength(what: "ed25519 seed", expected: 32, got: seed.count) }
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        guard crypto_sign_seed_keypair(&pk, &sk, seed) == 0 else { throw .libraryFailure("crypto_sign_seed_keypair") }
        return (pk, sk)
    }

    /// Deterministic detached signature (64 bytes).
    public static func ed25519Sign(_ message: [UInt8], secretKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard secretKey.count == 64 else { throw .invalidLength(what: "ed25519 secret key", expected: 64, got: secretKey.count) }
        var sig = [UInt8](repeating: 0, count: 64)
        let rc = crypto_sign_detached(&sig, nil, message, UInt64(message.count), secretKey)
        guard rc == 0 else { throw .libraryFailure("crypto_sign_detached") }
        return sig
    }

    /// Verifies a 64-byte detached signature against a 32-byte public key.
    public static func ed25519Verify(_ signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard initialised, signature.count == 64, publicKey.count == 32 else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }

    // MARK: ristretto255 (scalars are 32-byte little-endian, reduced mod l)

    /// `scalar · B`. Fails when the result would be the identity (scalar 0).
    public static func ristrettoBaseMultiply(_ scalar: [UInt8]) throws(CryptoError) -> [UInt8] {
        try ensureInitialised()
        guard scalar.count == 32 else { throw .invalidLength(what: "scalar", expected: 32, got: scalar.count) }
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult_ristretto255_base(&out, scalar) == 0 else { throw .invalidPoint }
        return out
    }

    /// `scalar · P` for an encoded point P. Fails for a non-canonical encoding or an identity result.
    public static func ristrettoMultiply(_ scalar: [UInt8], point: [UInt8]) throws(CryptoError) -> [UInt8] {
        try ensureInitialised()
        guard scalar.count == 32 else { throw .invalidLength(what: "scalar", expected: 32, got: scalar.count) }
        guard point.count == 32 else { throw .invalidLength(what: "ristretto point", expected: 32, got: point.count) }
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult_ristretto255(&out, scalar, point) == 0 else { throw .invalidPoint }
        return out
    }

    /// `P + Q` for two encoded points.
    public static func ristrettoAdd(_ p: [UInt8], _ q: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard p.count == 32, q.count == 32 else { throw .invalidLength(what: "ristretto point", expected: 32, got: min(p.count, q.count)) }
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_core_ristretto255_add(&out, p, q) == 0 else { throw .invalidPoint }
        return out
    }

    /// `P − Q` for two encoded points.
    public static func ristrettoSubtract(_ p: [UInt8], _ q: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard p.count == 32, q.count == 32 else { throw .invalidLength(what: "ristretto point", expected: 32, got: min(p.count, q.count)) }
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_core_ristretto255_sub(&out, p, q) == 0 else { throw .invalidPoint }
        return out
    }

    /// Whether 32 bytes are the canonical encoding of a ristretto255 point.
    public static func ristrettoIsValidPoint(_ p: [UInt8]) -> Bool {
        guard initialised, p.count == 32 else { return false }
        return crypto_core_ristretto255_is_valid_point(p) == 1
    }

    /// Reduces a 64-byte little-endian integer modulo l.
    public static func scalarReduce(_ wide: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard wide.count == 64 else { throw .invalidLength(what: "wide scalar", expected: 64, got: wide.count) }
        var out = [UInt8](repeating: 0, count: 32)
        crypto_core_ristretto255_scalar_reduce(&out, wide)
        return out
    }

    /// `x · y mod l`.
    public static func scalarMultiply(_ x: [UInt8], _ y: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard x.count == 32, y.count == 32 else { throw .invalidLength(what: "scalar", expected: 32, got: min(x.count, y.count)) }
        var out = [UInt8](repeating: 0, count: 32)
        crypto_core_ristretto255_scalar_mul(&out, x, y)
        return out
    }

    /// `x + y mod l`.
    public static func scalarAdd(_ x: [UInt8], _ y: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard x.count == 32, y.count == 32 else { throw .invalidLength(what: "scalar", expected: 32, got: min(x.count, y.count)) }
        var out = [UInt8](repeating: 0, count: 32)
        crypto_core_ristretto255_scalar_add(&out, x, y)
        return out
    }

    /// `−x mod l`.
    public static func scalarNegate(_ x: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard x.count == 32 else { throw .invalidLength(what: "scalar", expected: 32, got: x.count) }
        var out = [UInt8](repeating: 0, count: 32)
        crypto_core_ristretto255_scalar_negate(&out, x)
        return out
    }

    /// Whether a 32-byte little-endian scalar is canonical (strictly below the group order l).
    public static func scalarIsCanonical(_ s: [UInt8]) -> Bool {
        guard s.count == 32 else { return false }
        // l = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let order: [UInt8] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        ]
        for i in stride(from: 31, through: 0, by: -1) where s[i] != order[i] {
            return s[i] < order[i]
        }
        return false
    }
}
