/// Σ zᵢ·Pᵢ in variable time for short scalars (below 2^128): the per-signature half of a batch
/// verification, where each zᵢ is a random 128-bit weight and Pᵢ a signature's decoded commitment.
/// Straus's method: one shared chain of 128 doublings, each scalar in width-5 NAF against its
/// point's odd multiples, so a point costs its 8 multiples and about 22 additions.
@available(macOS 15.0, *)
enum VartimeMultiScalar {
    /// NAF positions used: a scalar below 2^128 has nonzero NAF digits only below bit 129.
    static let positions = 130

    /// Σ scalars[i]·points[i]; `nil` if the counts differ or a scalar is 2^128 or more.
    static func multiply(_ scalars: [FieldElement.Words], _ points: [EdwardsPoint]) -> EdwardsPoint? {
        guard scalars.count == points.count,
              scalars.allSatisfy({ $0.w2 == 0 && $0.w3 == 0 }) else { return nil }
        guard !points.isEmpty else { return .identity }
        let n = points.count
        // Point i's odd multiples at [8·i, 8·i + 8), in one array read without bounds checks.
        let multiples = points.flatMap { VartimeDoubleScalar.OddMultiples($0).entries }
        return withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256 * n) { digits in
            var top = -1
            for (index, scalar) in scalars.enumerated() {
                let naf = UnsafeMutableBufferPointer(rebasing: digits[(256 * index)..<(256 * index + 256)])
                VartimeDoubleScalar.nonAdjacentForm(scalar, width: 5, into: naf)
                var i = positions - 1
                while i > top, naf[i] == 0 { i -= 1 }
                top = max(top, i)
            }
            guard top >= 0 else { return .identity }
            return multiples.withUnsafeBufferPointer { entries in
                var r = ProjectivePoint.identity
                var extended = EdwardsPoint.identity
                for i in stride(from: top, through: 0, by: -1) {
                    var t = r.doubled()
                    for index in 0..<n {
                        let digit = digits[256 * index + i]
                        if digit == 0 { continue }
                        extended = t.extended
                        t = digit > 0 ? extended + entries[8 * index + Int(digit) >> 1]
                                      : extended - entries[8 * index + Int(-digit) >> 1]
                    }
                    r = t.projective
                    if i == 0 { extended = t.extended }
                }
                return extended
            }
        }
    }
}
