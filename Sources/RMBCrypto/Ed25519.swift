/// An RFC 8032 ed25519 key pair built from a 32-byte seed (for RMB: the mini secret), plus
/// Substrate's ed25519 hard derivation. Thin layer over ``Sodium``.
public struct Ed25519KeyPair: Sendable {
    /// The 32-byte seed the pair was built from.
    public let seed: [UInt8]
    /// 32-byte Edwards point: the chain account id.
    public let publicKey: [UInt8]
    /// libsodium's 64-byte secret key (`seed ‖ publicKey`).
    private let expandedSecretKey: [UInt8]

    public init(seed: [UInt8]) throws(CryptoError) {
        let pair = try Sodium.ed25519KeyPair(seed: seed)
        self.seed = seed
        publicKey = pair.publicKey
        expandedSecretKey = pair.secretKey
    }

    /// Deterministic 64-byte RFC 8032 signature.
    public func sign(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        try Sodium.ed25519Sign(message, secretKey: expandedSecretKey)
    }

    /// Verifies a 64-byte signature; any malformed input yields `false`.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        Sodium.ed25519Verify(signature, message: message, publicKey: publicKey)
    }

    /// Substrate hard derivation: `child_seed = blake2b-256(SCALE(("Ed25519HDKD", seed, chainCode)))`
    /// = `blake2b-256(0x2c ‖ "Ed25519HDKD" ‖ seed ‖ chainCode)`.
    public func hardDerive(chainCode: [UInt8]) throws(CryptoError) -> Ed25519KeyPair {
        guard chainCode.count == 32 else { throw .invalidLength(what: "chain code", expected: 32, got: chainCode.count) }
        let input = [0x2c] + Array("Ed25519HDKD".utf8) + seed + chainCode
        return try Ed25519KeyPair(seed: Sodium.blake2b(input, outputLength: 32))
    }

    /// Hard derivation for a junction such as `Alice` in `//Alice`.
    public func hardDerive(_ junction: DeriveJunction) throws(CryptoError) -> Ed25519KeyPair {
        try hardDerive(chainCode: junction.chainCode)
    }
}
