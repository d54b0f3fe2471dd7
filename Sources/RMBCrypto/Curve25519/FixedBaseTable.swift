/// Multiples of one fixed point laid out so that a·P costs 64 additions and 4 doublings instead
/// of ``VartimeDoubleScalar``'s chain of 253 doublings: the scalar is written in 64 signed
/// radix-16 digits dᵢ ∈ [−8, 8] (a = Σ dᵢ·16ⁱ), and row j of the table holds m·256ʲ·P for
/// m = 1…8, so a·P = 16·Σ_odd dᵢ·T[i/2] + Σ_even dᵢ·T[i/2] (the layout of ref10's base-point table).
///
/// Verification (s·B − k·A, every input public, so variable time) uses two: a static one for
/// the base point and one per frequent sender key (``VerificationKeyCache``). A table is 256
/// affine points (30 KiB) and costs 248 doublings, 224 additions and one batched inversion to
/// build, about what one verification through the doubling chain costs, hence only for keys
/// that are verified again and again.
@available(macOS 15.0, *)
struct FixedBaseTable: Sendable {
    /// `entries[8·j + m − 1]` = m·256ʲ·P.
    let entries: [AffineNiels]

    /// The base point's table, built on first use (a `static let` is initialised once, thread-safely).
    static let basepoint = FixedBaseTable(.basepoint)

    init(_ point: EdwardsPoint) {
        var points = [EdwardsPoint]()
        points.reserveCapacity(256)
        var rowBase = point
        for row in 0..<32 {
            var multiple = rowBase
            for m in 1...8 {
                points.append(multiple)
                if m < 8 { multiple = multiple + rowBase }
            }
            if row < 31 {
                // 256·rowBase: eight doublings, kept projective between them.
                var p = rowBase.projective
                for _ in 0..<7 { p = p.doubled().projective }
                rowBase = p.doubled().extended
            }
        }
        entries = Self.affine(points)
    }

    /// The points in affine Niels form with one inversion for all of them (Montgomery's trick)
    /// instead of one each.
    private static func affine(_ points: [EdwardsPoint]) -> [AffineNiels] {
        guard !points.isEmpty else { return [] }
        // prefix[i] = Z₀·…·Zᵢ
        var prefix = [FieldElement]()
        prefix.reserveCapacity(points.count)
        var running = FieldElement.one
        for point in points {
            running = running * point.Z
            prefix.append(running)
        }
        var inverse = running.inverted()   // 1 / (Z₀·…·Zₙ₋₁)
        var result = [AffineNiels](repeating: AffineNiels(yPlusX: .one, yMinusX: .one, xy2d: .zero), count: points.count)
        for index in stride(from: points.count - 1, through: 0, by: -1) {
            let point = points[index]
            let zInverse = index > 0 ? inverse * prefix[index - 1] : inverse
            inverse = inverse * point.Z
            let x = point.X * zInverse, y = point.Y * zInverse
            result[index] = AffineNiels(yPlusX: y + x, yMinusX: y - x, xy2d: x * y * .d2)
        }
        return result
    }

    /// The 64 signed radix-16 digits of a scalar below 2^253 (every reduced scalar): each in
    /// [−8, 8], Σ dᵢ·16ⁱ = scalar.
    static func radix16Digits(_ scalar: FieldElement.Words, into digits: UnsafeMutableBufferPointer<Int8>) {
        var carry: Int8 = 0
        for i in 0..<64 {
            let word: UInt64
            switch i >> 4 {
            case 0: word = scalar.w0
            case 1: word = scalar.w1
            case 2: word = scalar.w2
            default: word = scalar.w3
            }
            var digit = Int8(truncatingIfNeeded: (word >> UInt64((i & 15) * 4)) & 15) + carry
            if i < 63 {
                carry = (digit + 8) >> 4
                digit -= carry << 4
            }
            digits[i] = digit
        }
    }

    /// a·A + b·B with A given by its table (B the base point); `nil` unless both scalars are
    /// below 2^253 (reduced scalars are below l < 2^253; larger ones would need a 65th digit).
    static func multiply(_ a: FieldElement.Words, _ table: FixedBaseTable, plusBase b: FieldElement.Words) -> EdwardsPoint? {
        guard a.w3 >> 61 == 0, b.w3 >> 61 == 0 else { return nil }
        return withUnsafeTemporaryAllocation(of: Int8.self, capacity: 128) { digits in
            let aDigits = UnsafeMutableBufferPointer(rebasing: digits[0..<64])
            let bDigits = UnsafeMutableBufferPointer(rebasing: digits[64..<128])
            radix16Digits(a, into: aDigits)
            radix16Digits(b, into: bDigits)
            return table.entries.withUnsafeBufferPointer { aTable in
                basepoint.entries.withUnsafeBufferPointer { bTable in
                    @inline(__always)
                    func add(_ r: inout EdwardsPoint, _ entries: UnsafeBufferPointer<AffineNiels>, row: Int, digit: Int8) {
                        if digit > 0 {
                            r = (r + entries[row * 8 + Int(digit) - 1]).extended
                        } else if digit < 0 {
                            r = (r - entries[row * 8 + Int(-digit) - 1]).extended
                        }
                    }
                    var r = EdwardsPoint.identity
                    for i in stride(from: 1, to: 64, by: 2) {
                        add(&r, aTable, row: i >> 1, digit: aDigits[i])
                        add(&r, bTable, row: i >> 1, digit: bDigits[i])
                    }
                    // ×16
                    var p = r.projective
                    for _ in 0..<3 { p = p.doubled().projective }
                    r = p.doubled().extended
                    for i in stride(from: 0, to: 64, by: 2) {
                        add(&r, aTable, row: i >> 1, digit: aDigits[i])
                        add(&r, bTable, row: i >> 1, digit: bDigits[i])
                    }
                    return r
                }
            }
        }
    }
}
