/// sr25519: schnorrkel Schnorr signatures over ristretto255 with Merlin transcripts, as used by
/// Substrate (`sp_core::sr25519`) for account keys and by RMB for envelope and JWT signatures.
/// Signing (secret data) uses libsodium's constant-time group and scalar arithmetic through
/// ``Sodium``; verification (public data) uses the variable-time code in `Curve25519/`.
public enum Sr25519: Sendable {
    /// Substrate's signing context.
    public static let substrateContext: [UInt8] = Array("substrate".utf8)
    public static let publicKeyLength = 32
    public static let signatureLength = 64

    /// Verifies a 64-byte schnorrkel signature. Never throws or traps: malformed lengths, a missing
    /// marker bit, a non-canonical `s`, invalid point encodings and the identity public key all
    /// yield `false`.
    ///
    /// Checks `R == s·B − k·A` with one variable-time double-scalar multiplication in Swift
    /// (``VartimeDoubleScalar``; for a frequent key, its ``FixedBaseTable``): all inputs are
    /// public, and libsodium's constant-time `scalarmult` calls made this twice as slow as
    /// ed25519 verification.
    public static func verify(
        signature: [UInt8], message: [UInt8], publicKey: [UInt8], context: [UInt8] = substrateContext
    ) -> Bool {
        guard #available(macOS 15.0, *) else {
            return verifyWithLibsodium(signature: signature, message: message, publicKey: publicKey, context: context)
        }
        guard let prepared = PreparedSignature(signature: signature, message: message, publicKey: publicKey, context: context) else {
            return false
        }
        return prepared.keyTerm(prepared.challenge, plusBase: prepared.response)?.ristrettoWords == prepared.commitment
    }

    /// The previous verification through libsodium's constant-time ristretto255 calls
    /// (`k·A`, `s·B`, subtraction): kept as the reference for differential tests and the benchmark.
    package static func verifyWithLibsodium(
        signature: [UInt8], message: [UInt8], publicKey: [UInt8], context: [UInt8] = substrateContext
    ) -> Bool {
        guard signature.count == signatureLength, publicKey.count == publicKeyLength,
              signature[63] & 0x80 != 0 else { return false }
        let commitment = Array(signature[0..<32])
        var s = Array(signature[32..<64])
        s[31] &= 0x7f
        guard Sodium.scalarIsCanonical(s) else { return false }

        var transcript = signingTranscript(context: context, message: message, publicKey: publicKey)
        transcript.appendMessage(label: "sign:R", commitment)
        do {
            let k = try Sodium.scalarReduce(transcript.challengeBytes(label: "sign:c", count: 64))
            // k·A fails for an invalid encoding of A (and for the identity key, which we reject).
            let kA = try Sodium.ristrettoMultiply(k, point: publicKey)
            // s·B is the identity only for s = 0; libsodium refuses it, so encode it by hand.
            let sB: [UInt8]
            if s.allSatisfy({ $0 == 0 }) {
                sB = [UInt8](repeating: 0, count: 32)
            } else {
                sB = try Sodium.ristrettoBaseMultiply(s)
            }
            return try Sodium.ristrettoSubtract(sB, kA) == commitment
        } catch {
            return false
        }
    }

    /// The signing transcript up to the public key: `SigningContext`, context, `sign-bytes`,
    /// `proto-name`, `sign:pk`. Signer and verifier then append `sign:R` and draw `sign:c`.
    public static func signingTranscript(context: [UInt8], message: [UInt8], publicKey: [UInt8]) -> MerlinTranscript {
        var transcript = MerlinTranscript(label: "SigningContext")
        transcript.appendMessage(label: "", context)
        transcript.appendMessage(label: "sign-bytes", message)
        transcript.appendMessage(label: "proto-name", Array("Schnorr-sig".utf8))
        transcript.appendMessage(label: "sign:pk", publicKey)
        return transcript
    }
}

/// An sr25519 key pair: secret scalar, nonce seed and public key. Substrate builds it from a
/// 32-byte mini secret in Ed25519 expansion mode, which is what `Sr25519KeyPair(miniSecret:)` does.
public struct Sr25519KeyPair: Sendable {
    /// 32-byte ristretto255 point: the chain account id.
    public let publicKey: [UInt8]
    /// 32-byte little-endian scalar, canonical (below l).
    public let secretScalar: [UInt8]
    /// 32-byte nonce seed mixed into every signing witness.
    public let nonce: [UInt8]

    /// schnorrkel's 64-byte `SecretKey::to_bytes`: `secretScalar ‖ nonce`.
    public var secretKey: [UInt8] { secretScalar + nonce }

    /// schnorrkel `MiniSecretKey::expand_to_keypair(ExpansionMode::Ed25519)`:
    /// `h = SHA-512(mini)`, clamp `h[0..32]` like Ed25519, divide by the cofactor 8 (exact, so the
    /// scalar stays below l), nonce = `h[32..64]`, public = scalar·B.
    public init(miniSecret: [UInt8]) throws(CryptoError) {
        guard miniSecret.count == 32 else { throw .invalidLength(what: "sr25519 mini secret", expected: 32, got: miniSecret.count) }
        let h = Sodium.sha512(miniSecret)
        var key = Array(h[0..<32])
        key[0] &= 248
        key[31] &= 63
        key[31] |= 64
        // Little-endian 256-bit shift right by 3.
        var scalar = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 {
            let high: UInt8 = i < 31 ? key[i + 1] << 5 : 0
            scalar[i] = key[i] >> 3 | high
        }
        secretScalar = scalar
        nonce = Array(h[32..<64])
        publicKey = try Sodium.ristrettoBaseMultiply(scalar)
    }

    /// schnorrkel `sign_simple(context, message)`: randomized, 64 bytes with the marker bit set.
    /// The witness is derived from the transcript, the key's nonce and 32 fresh random bytes.
    public func sign(_ message: [UInt8], context: [UInt8] = Sr25519.substrateContext) throws(CryptoError) -> [UInt8] {
        let transcript = Sr25519.signingTranscript(context: context, message: message, publicKey: publicKey)
        let r = try transcript.witnessScalar(label: "signing", nonceSeeds: [nonce])
        return try finishSignature(transcript, witness: r)
    }

    /// Signs with a caller-chosen witness `r` (any 32 bytes, reduced mod l). Deterministic, for
    /// test vectors only: reusing `r` for two messages reveals the secret key.
    public func sign(_ message: [UInt8], context: [UInt8] = Sr25519.substrateContext, witness r: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard r.count == 32 else { throw .invalidLength(what: "sr25519 witness", expected: 32, got: r.count) }
        let transcript = Sr25519.signingTranscript(context: context, message: message, publicKey: publicKey)
        return try finishSignature(transcript, witness: Sodium.scalarReduce(r + [UInt8](repeating: 0, count: 32)))
    }

    /// `R = r·B`, `k = reduce(challenge("sign:c", 64))`, `s = k·secret + r`, signature `R ‖ s | 0x80`.
    private func finishSignature(_ transcript: MerlinTranscript, witness r: [UInt8]) throws(CryptoError) -> [UInt8] {
        var transcript = transcript
        let commitment = try Sodium.ristrettoBaseMultiply(r)
        transcript.appendMessage(label: "sign:R", commitment)
        let k = try Sodium.scalarReduce(transcript.challengeBytes(label: "sign:c", count: 64))
        let s = try Sodium.scalarAdd(Sodium.scalarMultiply(k, secretScalar), r)
        var signature = commitment + s
        signature[63] |= 0x80
        return signature
    }

    // MARK: Hard derivation (Substrate `//junction`)

    /// schnorrkel `hard_derive_mini_secret_key(Some(chainCode), b"")` followed by Ed25519-mode
    /// expansion, as `sp_core::sr25519::Pair::derive` does for a hard junction.
    public func hardDerive(chainCode: [UInt8]) throws(CryptoError) -> Sr25519KeyPair {
        guard chainCode.count == 32 else { throw .invalidLength(what: "chain code", expected: 32, got: chainCode.count) }
        var transcript = MerlinTranscript(label: "SchnorrRistrettoHDKD")
        transcript.appendMessage(label: "sign-bytes", [])
        transcript.appendMessage(label: "chain-code", chainCode)
        transcript.appendMessage(label: "secret-key", secretScalar)
        // The next challenge ("HDKD-chaincode") would be the child chain code; Substrate drops it.
        return try Sr25519KeyPair(miniSecret: transcript.challengeBytes(label: "HDKD-hard", count: 32))
    }

    /// Hard derivation for a junction such as `Alice` in `//Alice`.
    public func hardDerive(_ junction: DeriveJunction) throws(CryptoError) -> Sr25519KeyPair {
        try hardDerive(chainCode: junction.chainCode)
    }
}
