/// Batch verification of sr25519 signatures: a peer reads envelopes in batches, mostly from the
/// same few senders, and checking them together costs a third less per signature from 16 up
/// (`rmb bench crypto`).
extension Sr25519 {
    /// One signature to check in a batch.
    public struct SignedMessage: Sendable {
        public var signature: [UInt8]
        public var message: [UInt8]
        public var publicKey: [UInt8]
        public var context: [UInt8]

        public init(signature: [UInt8], message: [UInt8], publicKey: [UInt8], context: [UInt8] = Sr25519.substrateContext) {
            self.signature = signature
            self.message = message
            self.publicKey = publicKey
            self.context = context
        }
    }

    /// `true` when every signature of the batch verifies (and for an empty batch); `false` when
    /// at least one does not, but not which: the caller then checks them one by one.
    ///
    /// Each signature i claims `Rᵢ = sᵢ·B − kᵢ·Aᵢ`. With a fresh random 128-bit weight zᵢ per
    /// signature, the batch checks the one sum `(Σ zᵢsᵢ)·B − Σ_A (Σ zᵢkᵢ)·A = Σ zᵢ·Rᵢ`: one
    /// fixed-base product per distinct key (the base point rides with the first) and one
    /// multi-scalar product of short scalars over the commitments. ristretto255 has prime order
    /// l > 2^128 and the weights are odd, so a batch holding an invalid signature passes with
    /// probability at most 2^−127, whatever its author chose: the weights are drawn after the
    /// signatures are fixed. Every
    /// per-signature check of ``verify(signature:message:publicKey:context:)`` (lengths, marker
    /// bit, canonical `s` and `R`, valid non-identity key, nonzero challenge) applies to each.
    public static func verifyBatch(_ items: [SignedMessage]) -> Bool {
        guard #available(macOS 15.0, *), items.count > 1 else {
            return items.allSatisfy { verify(signature: $0.signature, message: $0.message, publicKey: $0.publicKey, context: $0.context) }
        }
        var prepared: [PreparedSignature] = []
        var commitments: [EdwardsPoint] = []
        prepared.reserveCapacity(items.count)
        commitments.reserveCapacity(items.count)
        for item in items {
            guard let signature = PreparedSignature(signature: item.signature, message: item.message,
                                                    publicKey: item.publicKey, context: item.context),
                  let commitment = EdwardsPoint(ristretto: signature.commitment) else { return false }
            prepared.append(signature)
            commitments.append(commitment)
        }

        let random = Sodium.randomBytes(16 * items.count)
        var weights: [FieldElement.Words] = []
        var responseSum = [UInt8](repeating: 0, count: 32)
        var challengeSums: [FieldElement.Words: [UInt8]] = [:]
        var firstOfKey: [Int] = []
        do {
            for (index, signature) in prepared.enumerated() {
                var weight = Array(random[(16 * index)..<(16 * index + 16)]) + [UInt8](repeating: 0, count: 16)
                weight[0] |= 1  // never zero, which would leave its signature unchecked
                guard let weightWords = FieldElement.Words(weight) else { return false }
                weights.append(weightWords)
                responseSum = try Sodium.scalarAdd(responseSum, Sodium.scalarMultiply(weight, signature.response.bytes))
                let weightedChallenge = try Sodium.scalarMultiply(weight, signature.challenge.bytes)
                if let sum = challengeSums[signature.key] {
                    challengeSums[signature.key] = try Sodium.scalarAdd(sum, weightedChallenge)
                } else {
                    challengeSums[signature.key] = weightedChallenge
                    firstOfKey.append(index)
                }
            }
        } catch {
            return false
        }

        // Σ_A (Σ zᵢkᵢ)·(−A) + (Σ zᵢsᵢ)·B, through each key's table.
        guard var base = FieldElement.Words(responseSum) else { return false }
        var keyTerms: EdwardsPoint?
        for index in firstOfKey {
            let signature = prepared[index]
            guard let sum = challengeSums[signature.key], let scalar = FieldElement.Words(sum),
                  let term = signature.keyTerm(scalar, plusBase: base) else { return false }
            base = FieldElement.Words(0, 0, 0, 0)
            keyTerms = keyTerms.map { $0 + term } ?? term
        }
        guard let keyTerms, let weightedCommitments = VartimeMultiScalar.multiply(weights, commitments) else { return false }
        return keyTerms.ristrettoEquals(weightedCommitments)
    }
}
