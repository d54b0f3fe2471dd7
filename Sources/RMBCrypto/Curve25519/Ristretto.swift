/// ristretto255 encoding and decoding (RFC 9496 §4.3) on top of ``EdwardsPoint``, variable time.
/// Decoding rejects what libsodium's `crypto_core_ristretto255_is_valid_point` rejects and, as
/// RFC 9496, schnorrkel (curve25519-dalek) and later libsodium do, also a set bit 255, which the
/// libsodium 1.0.18 of Debian ignores.
@available(macOS 15.0, *)
extension EdwardsPoint {
    /// RFC 9496 §4.3.1 DECODE: `nil` for a wrong length, a non-canonical or negative field
    /// encoding (including a set top bit), or a value that is not the encoding of a point.
    init?(ristretto bytes: [UInt8]) {
        guard let words = FieldElement.Words(bytes) else { return nil }
        self.init(ristretto: words)
    }

    init?(ristretto words: FieldElement.Words) {
        let s = FieldElement(words)
        // Canonical means re-encoding gives the same bits; this also rejects bit 255 and s ≥ p.
        let canonical = s.words
        guard canonical == words, canonical.w0 & 1 == 0 else { return nil }

        let ss = s.square()
        let u1 = FieldElement.one - ss
        let u2 = FieldElement.one + ss
        let u2Squared = u2.square()
        let v = -(FieldElement.d * u1.square()) - u2Squared
        let (wasSquare, invSqrt) = FieldElement.sqrtRatioM1(.one, v * u2Squared)
        let denX = invSqrt * u2
        let denY = invSqrt * denX * v
        let x = ((s + s) * denX).absolute
        let y = u1 * denY
        let t = x * y
        guard wasSquare, !t.isNegative, !y.isZero else { return nil }
        self.init(X: x, Y: y, Z: .one, T: t)
    }

    /// RFC 9496 §4.3.2 ENCODE, as four little-endian words (compare without allocating).
    var ristrettoWords: FieldElement.Words {
        let u1 = (Z + Y) * (Z - Y)
        let u2 = X * Y
        let (_, invSqrt) = FieldElement.sqrtRatioM1(.one, u1 * u2.square())
        let den1 = invSqrt * u1
        let den2 = invSqrt * u2
        let zInv = den1 * den2 * T
        var x = X, y = Y, denInv = den2
        if (T * zInv).isNegative {
            x = Y * .sqrtM1
            y = X * .sqrtM1
            denInv = den1 * .invSqrtAMinusD
        }
        if (x * zInv).isNegative { y = -y }
        return (denInv * (Z - y)).absolute.words
    }

    /// The 32-byte ristretto255 encoding.
    var ristrettoBytes: [UInt8] { ristrettoWords.bytes }

    /// Equality of ristretto255 elements (RFC 9496 §4.3.3): X₁Y₂ = Y₁X₂ or Y₁Y₂ = X₁X₂.
    func ristrettoEquals(_ other: EdwardsPoint) -> Bool {
        X * other.Y == Y * other.X || Y * other.Y == X * other.X
    }
}
