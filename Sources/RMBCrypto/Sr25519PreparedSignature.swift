/// A schnorrkel signature parsed and checked as far as it can be without the group equation:
/// what single and batch verification share.
@available(macOS 15.0, *)
struct PreparedSignature {
    /// R's encoding (not yet known to be a valid point).
    let commitment: FieldElement.Words
    /// s, canonical.
    let response: FieldElement.Words
    /// k = the transcript's challenge, reduced, nonzero.
    let challenge: FieldElement.Words
    /// A's encoding, a valid non-identity point.
    let key: FieldElement.Words
    let keyTable: VerificationTable

    /// `nil` for a wrong length, a missing marker bit, a non-canonical `s`, an invalid or
    /// identity key, or a zero challenge (which libsodium's `k·A` refused, so verification always did).
    init?(signature: [UInt8], message: [UInt8], publicKey: [UInt8], context: [UInt8]) {
        guard signature.count == Sr25519.signatureLength, publicKey.count == Sr25519.publicKeyLength,
              signature[63] & 0x80 != 0 else { return nil }
        let commitmentBytes = Array(signature[0..<32])
        var s = Array(signature[32..<64])
        s[31] &= 0x7f
        guard Sodium.scalarIsCanonical(s),
              let response = FieldElement.Words(s),
              let commitment = FieldElement.Words(commitmentBytes),
              let key = FieldElement.Words(publicKey),
              // All-zero bytes are the identity, which is not accepted as a key.
              key != FieldElement.Words(0, 0, 0, 0),
              let keyTable = VerificationKeyCache.shared.table(for: key) else { return nil }
        var transcript = Sr25519.signingTranscript(context: context, message: message, publicKey: publicKey)
        transcript.appendMessage(label: "sign:R", commitmentBytes)
        guard let k = try? Sodium.scalarReduce(transcript.challengeBytes(label: "sign:c", count: 64)),
              let challenge = FieldElement.Words(k), challenge != FieldElement.Words(0, 0, 0, 0) else { return nil }
        self.commitment = commitment
        self.response = response
        self.challenge = challenge
        self.key = key
        self.keyTable = keyTable
    }

    /// a·(−A) + b·B through the key's table (A this signature's key, B the base point); `nil`
    /// only for scalars of 2^253 or more, which reduced scalars never are.
    func keyTerm(_ a: FieldElement.Words, plusBase b: FieldElement.Words) -> EdwardsPoint? {
        switch keyTable {
        case .oddMultiples(let multiples): VartimeDoubleScalar.multiply(a, multiples, plusBase: b)
        case .fixedBase(let table): FixedBaseTable.multiply(a, table, plusBase: b)
        }
    }
}
