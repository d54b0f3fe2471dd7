/// a·A + b·B in variable time (B the ed25519/ristretto255 base point), for signature
/// verification where every input is public. One shared chain of doublings; the scalars are
/// recoded in width-w non-adjacent form, so an addition is needed only every w+1 bits on average:
/// w = 5 for A (8 odd multiples computed per call), w = 8 for B (64 odd multiples computed once).
@available(macOS 15.0, *)
enum VartimeDoubleScalar {
    /// Odd multiples A, 3A, …, 15A of a point, ready to add: the digits of a width-5 NAF.
    struct OddMultiples: Sendable {
        let entries: [ProjectiveNiels]

        init(_ point: EdwardsPoint) {
            var entries = [ProjectiveNiels]()
            entries.reserveCapacity(8)
            let twice = point.doubled().projectiveNiels
            var multiple = point
            for index in 0..<8 {
                entries.append(multiple.projectiveNiels)
                if index < 7 { multiple = (multiple + twice).extended }
            }
            self.entries = entries
        }
    }

    /// B, 3B, …, 127B in affine Niels form, the digits of a width-8 NAF. Built on first use
    /// (Swift initialises a `static let` exactly once, thread-safely).
    static let basepointMultiples: [AffineNiels] = {
        var table = [AffineNiels]()
        table.reserveCapacity(64)
        let twice = EdwardsPoint.basepoint.doubled()
        var multiple = EdwardsPoint.basepoint
        for index in 0..<64 {
            table.append(multiple.affineNiels)
            if index < 63 { multiple = multiple + twice }
        }
        return table
    }()

    /// a·A + b·B for 32-byte little-endian scalars; `nil` for a wrong length or a scalar
    /// ≥ 2^255 (reduced scalars are < l < 2^253).
    static func multiply(_ a: [UInt8], _ point: EdwardsPoint, plusBase b: [UInt8]) -> EdwardsPoint? {
        guard let a = FieldElement.Words(a), let b = FieldElement.Words(b),
              a.w3 >> 63 == 0, b.w3 >> 63 == 0 else { return nil }
        return multiply(a, OddMultiples(point), plusBase: b)
    }

    /// a·A + b·B with A given by its odd multiples. Both scalars must be below 2^255.
    static func multiply(_ a: FieldElement.Words, _ table: OddMultiples, plusBase b: FieldElement.Words) -> EdwardsPoint {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 512) { digits in
            let aDigits = UnsafeMutableBufferPointer(rebasing: digits[0..<256])
            let bDigits = UnsafeMutableBufferPointer(rebasing: digits[256..<512])
            nonAdjacentForm(a, width: 5, into: aDigits)
            nonAdjacentForm(b, width: 8, into: bDigits)
            var i = 255
            while i >= 0, aDigits[i] == 0, bDigits[i] == 0 { i -= 1 }
            guard i >= 0 else { return .identity }
            return table.entries.withUnsafeBufferPointer { aTable in
                basepointMultiples.withUnsafeBufferPointer { bTable in
                    var r = ProjectivePoint.identity
                    while i >= 0 {
                        var t = r.doubled()
                        let da = aDigits[i], db = bDigits[i]
                        if da > 0 {
                            t = t.extended + aTable[Int(da) >> 1]
                        } else if da < 0 {
                            t = t.extended - aTable[Int(-da) >> 1]
                        }
                        if db > 0 {
                            t = t.extended + bTable[Int(db) >> 1]
                        } else if db < 0 {
                            t = t.extended - bTable[Int(-db) >> 1]
                        }
                        r = t.projective
                        i -= 1
                    }
                    return r.extended
                }
            }
        }
    }

    /// Width-w NAF of a scalar below 2^255: 256 digits, each 0 or odd with |digit| < 2^(w−1),
    /// nonzero digits at least w apart, Σ digit_i·2^i = scalar (as curve25519-dalek).
    static func nonAdjacentForm(_ scalar: FieldElement.Words, width w: Int, into naf: UnsafeMutableBufferPointer<Int8>) {
        naf.update(repeating: 0)
        @inline(__always) func word(_ index: Int) -> UInt64 {
            switch index {
            case 0: scalar.w0
            case 1: scalar.w1
            case 2: scalar.w2
            case 3: scalar.w3
            default: 0
            }
        }
        let windowSize = 1 << w
        let windowMask = UInt64(windowSize - 1)
        var position = 0
        var carry: UInt64 = 0
        while position < 256 {
            let index = position >> 6, bit = UInt64(position & 63)
            var bits = word(index) &>> bit
            if bit > UInt64(64 - w) { bits |= word(index + 1) &<< (64 - bit) }
            let window = carry + (bits & windowMask)
            if window & 1 == 0 {
                position += 1
                continue
            }
            if window < UInt64(windowSize / 2) {
                carry = 0
                naf[position] = Int8(window)
            } else {
                carry = 1
                naf[position] = Int8(Int(window) - windowSize)
            }
            position += w
        }
    }
}
