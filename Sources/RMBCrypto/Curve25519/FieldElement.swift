/// An element of GF(2^255 − 19) in radix 2^51: five UInt64 limbs, value Σ limb_i·2^(51·i).
///
/// Variable time, for public data only (signature verification): libsodium exports no field
/// arithmetic, and its constant-time ristretto255 calls made sr25519 verify twice as slow as
/// ed25519's. The arithmetic follows curve25519-dalek's u64 backend.
///
/// Limb bounds: `*` and `square` accept limbs below 2^54 and return limbs below 2^52;
/// `-` accepts a right-hand side below 2^55 and returns reduced limbs; `+` does not reduce
/// (two operands below 2^52 give limbs below 2^53, still fine for `*`).
///
/// Products use `UInt128` (macOS 15+; always on Linux): a hand-rolled 128-bit pair from
/// `multipliedFullWidth` was not inlined and measured 30 against 15 ns per product.
@available(macOS 15.0, *)
struct FieldElement: Equatable, Sendable {
    var l0, l1, l2, l3, l4: UInt64

    @inline(__always)
    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64, _ l4: UInt64) {
        self.l0 = l0; self.l1 = l1; self.l2 = l2; self.l3 = l3; self.l4 = l4
    }

    static let mask51: UInt64 = (1 << 51) - 1
    static let zero = FieldElement(0, 0, 0, 0, 0)
    static let one = FieldElement(1, 0, 0, 0, 0)
    /// Edwards d = −121665/121666.
    static let d = FieldElement(929955233495203, 466365720129213, 1662059464998953, 2033849074728123, 1442794654840575)
    /// 2·d, used by the Niels forms.
    static let d2 = FieldElement(1859910466990425, 932731440258426, 1072319116312658, 1815898335770999, 633789495995903)
    /// sqrt(−1) = 2^((p−1)/4), the non-negative root.
    static let sqrtM1 = FieldElement(1718705420411056, 234908883556509, 2233514472574048, 2117202627021982, 765476049583133)
    /// 1/sqrt(a − d) with a = −1 (RFC 9496 INVSQRT_A_MINUS_D).
    static let invSqrtAMinusD = FieldElement(278908739862762, 821645201101625, 8113234426968, 1777959178193151, 2118520810568447)

    // MARK: Bytes

    /// Four little-endian 64-bit words of a 32-byte encoding.
    struct Words: Hashable, Sendable {
        var w0, w1, w2, w3: UInt64

        /// Reads 32 bytes; `nil` for any other length.
        @inline(__always)
        init?(_ bytes: [UInt8]) {
            guard bytes.count == 32 else { return nil }
            (w0, w1, w2, w3) = bytes.withUnsafeBytes { raw in
                (UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            }
        }

        @inline(__always)
        init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
            self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
        }

        var bytes: [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            out.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: w0.littleEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: w1.littleEndian, toByteOffset: 8, as: UInt64.self)
                raw.storeBytes(of: w2.littleEndian, toByteOffset: 16, as: UInt64.self)
                raw.storeBytes(of: w3.littleEndian, toByteOffset: 24, as: UInt64.self)
            }
            return out
        }
    }

    /// The field element of a 255-bit little-endian integer; bit 255 is ignored and values
    /// ≥ p are accepted (reduced lazily). Callers that need canonical input compare ``words``.
    @inline(__always)
    init(_ w: Words) {
        let m = Self.mask51
        self.init(w.w0 & m,
                  (w.w0 >> 51 | w.w1 << 13) & m,
                  (w.w1 >> 38 | w.w2 << 26) & m,
                  (w.w2 >> 25 | w.w3 << 39) & m,
                  (w.w3 >> 12) & m)
    }

    /// Decodes 32 bytes like ``init(_:)-(Words)``; `nil` for any other length.
    init?(bytes: [UInt8]) {
        guard let w = Words(bytes) else { return nil }
        self.init(w)
    }

    /// The canonical (fully reduced, < p) encoding as four words.
    var words: Words {
        let m = Self.mask51
        var t = reduced()
        // q = 1 iff the value is ≥ p: adding 19 then carries out of bit 255.
        var q = (t.l0 &+ 19) >> 51
        q = (t.l1 &+ q) >> 51
        q = (t.l2 &+ q) >> 51
        q = (t.l3 &+ q) >> 51
        q = (t.l4 &+ q) >> 51
        // Subtract q·p: add 19·q and drop bit 255.
        t.l0 &+= 19 &* q
        t.l1 &+= t.l0 >> 51; t.l0 &= m
        t.l2 &+= t.l1 >> 51; t.l1 &= m
        t.l3 &+= t.l2 >> 51; t.l2 &= m
        t.l4 &+= t.l3 >> 51; t.l3 &= m
        t.l4 &= m
        return Words(t.l0 | t.l1 << 51, t.l1 >> 13 | t.l2 << 38, t.l2 >> 26 | t.l3 << 25, t.l3 >> 39 | t.l4 << 12)
    }

    /// The canonical 32-byte little-endian encoding.
    var bytes: [UInt8] { words.bytes }

    /// RFC 9496 IS_NEGATIVE: the low bit of the canonical encoding.
    var isNegative: Bool { words.w0 & 1 == 1 }

    var isZero: Bool {
        let w = words
        return w.w0 | w.w1 | w.w2 | w.w3 == 0
    }

    /// Equality of field values (not of limb representations).
    static func == (a: FieldElement, b: FieldElement) -> Bool { a.words == b.words }

    /// Carries every limb into the next (the top one times 19 into the bottom): limbs < 2^51 + 2^18.
    @inline(__always)
    func reduced() -> FieldElement {
        let m = Self.mask51
        let c0 = l0 >> 51, c1 = l1 >> 51, c2 = l2 >> 51, c3 = l3 >> 51, c4 = l4 >> 51
        return FieldElement((l0 & m) &+ c4 &* 19, (l1 & m) &+ c0, (l2 & m) &+ c1, (l3 & m) &+ c2, (l4 & m) &+ c3)
    }

    // MARK: Additive group

    @inline(__always)
    static func + (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(a.l0 &+ b.l0, a.l1 &+ b.l1, a.l2 &+ b.l2, a.l3 &+ b.l3, a.l4 &+ b.l4)
    }

    /// a + 16p − b, so no limb underflows for b below 2^55; then reduced.
    @inline(__always)
    static func - (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement((a.l0 &+ 36028797018963664) &- b.l0,
                     (a.l1 &+ 36028797018963952) &- b.l1,
                     (a.l2 &+ 36028797018963952) &- b.l2,
                     (a.l3 &+ 36028797018963952) &- b.l3,
                     (a.l4 &+ 36028797018963952) &- b.l4).reduced()
    }

    @inline(__always)
    static prefix func - (a: FieldElement) -> FieldElement { zero - a }

    /// RFC 9496 CT_ABS (here variable time): the non-negative one of ±a.
    @inline(__always)
    var absolute: FieldElement { isNegative ? -self : self }

    // MARK: Multiplication

    @inline(__always)
    static func * (a: FieldElement, b: FieldElement) -> FieldElement {
        let b1 = b.l1 &* 19, b2 = b.l2 &* 19, b3 = b.l3 &* 19, b4 = b.l4 &* 19
        let c0 = m(a.l0, b.l0) &+ m(a.l4, b1) &+ m(a.l3, b2) &+ m(a.l2, b3) &+ m(a.l1, b4)
        let c1 = m(a.l1, b.l0) &+ m(a.l0, b.l1) &+ m(a.l4, b2) &+ m(a.l3, b3) &+ m(a.l2, b4)
        let c2 = m(a.l2, b.l0) &+ m(a.l1, b.l1) &+ m(a.l0, b.l2) &+ m(a.l4, b3) &+ m(a.l3, b4)
        let c3 = m(a.l3, b.l0) &+ m(a.l2, b.l1) &+ m(a.l1, b.l2) &+ m(a.l0, b.l3) &+ m(a.l4, b4)
        let c4 = m(a.l4, b.l0) &+ m(a.l3, b.l1) &+ m(a.l2, b.l2) &+ m(a.l1, b.l3) &+ m(a.l0, b.l4)
        return carry(c0, c1, c2, c3, c4)
    }

    @inline(__always)
    func square() -> FieldElement {
        let a3x19 = l3 &* 19, a4x19 = l4 &* 19
        let d0 = l0 &* 2, d1 = l1 &* 2, d2 = l2 &* 2
        let c0 = Self.m(l0, l0) &+ Self.m(d1, a4x19) &+ Self.m(d2, a3x19)
        let c1 = Self.m(l3, a3x19) &+ Self.m(d0, l1) &+ Self.m(d2, a4x19)
        let c2 = Self.m(l1, l1) &+ Self.m(d0, l2) &+ Self.m(a4x19, l3 &* 2)
        let c3 = Self.m(l4, a4x19) &+ Self.m(d0, l3) &+ Self.m(d1, l2)
        let c4 = Self.m(l2, l2) &+ Self.m(d0, l4) &+ Self.m(d1, l3)
        return Self.carry(c0, c1, c2, c3, c4)
    }

    /// self^(2^k) for k ≥ 1.
    @inline(__always)
    func square(times k: Int) -> FieldElement {
        var r = square()
        for _ in 1..<k { r = r.square() }
        return r
    }

    /// The full 128-bit product (column sums stay below 2^115, so `&+` never wraps).
    @inline(__always)
    private static func m(_ a: UInt64, _ b: UInt64) -> UInt128 { UInt128(a) &* UInt128(b) }

    /// Carry chain of the five 128-bit column sums back into 51-bit limbs.
    @inline(__always)
    private static func carry(_ c0: UInt128, _ c1: UInt128, _ c2: UInt128, _ c3: UInt128, _ c4: UInt128) -> FieldElement {
        let m = UInt128(mask51)
        let c1 = c1 &+ (c0 &>> 51)
        let c2 = c2 &+ (c1 &>> 51)
        let c3 = c3 &+ (c2 &>> 51)
        let c4 = c4 &+ (c3 &>> 51)
        // c4 < 2^110.4 (no factor 19 in its column), so this carry is < 2^59.4 and 19 times it fits.
        var r0 = UInt64(truncatingIfNeeded: c0 & m) &+ UInt64(truncatingIfNeeded: c4 &>> 51) &* 19
        let r1 = UInt64(truncatingIfNeeded: c1 & m) &+ r0 &>> 51
        r0 &= mask51
        return FieldElement(r0, r1, UInt64(truncatingIfNeeded: c2 & m), UInt64(truncatingIfNeeded: c3 & m), UInt64(truncatingIfNeeded: c4 & m))
    }

    // MARK: Powers

    /// (self^(2^250 − 1), self^11): the common prefix of inversion and the (p−5)/8 power.
    private func pow22501() -> (FieldElement, FieldElement) {
        let t0 = square()                   // 2
        let t1 = t0.square(times: 2)        // 8
        let t2 = self * t1                  // 9
        let t3 = t0 * t2                    // 11
        let t4 = t3.square()                // 22
        let t5 = t2 * t4                    // 2^5 − 1
        let t7 = t5.square(times: 5) * t5   // 2^10 − 1
        let t9 = t7.square(times: 10) * t7  // 2^20 − 1
        let t11 = t9.square(times: 20) * t9 // 2^40 − 1
        let t13 = t11.square(times: 10) * t7 // 2^50 − 1
        let t15 = t13.square(times: 50) * t13 // 2^100 − 1
        let t17 = t15.square(times: 100) * t15 // 2^200 − 1
        let t19 = t17.square(times: 50) * t13 // 2^250 − 1
        return (t19, t3)
    }

    /// self^(p − 2) = 1/self (0 for 0).
    func inverted() -> FieldElement {
        let (t19, t3) = pow22501()
        return t19.square(times: 5) * t3    // 2^255 − 21
    }

    /// self^((p − 5)/8) = self^(2^252 − 3).
    private func powP58() -> FieldElement {
        let (t19, _) = pow22501()
        return self * t19.square(times: 2)
    }

    /// RFC 9496 §4.2 SQRT_RATIO_M1: (true, +sqrt(u/v)) if u/v is square, (true, 0) for u = 0,
    /// (false, 0) for v = 0 and u ≠ 0, else (false, +sqrt(i·u/v)).
    static func sqrtRatioM1(_ u: FieldElement, _ v: FieldElement) -> (wasSquare: Bool, root: FieldElement) {
        let v3 = v.square() * v
        let v7 = v3.square() * v
        var r = (u * v3) * (u * v7).powP58()
        let check = v * r.square()
        let minusU = -u
        let correctSign = check == u
        let flippedSign = check == minusU
        let flippedSignI = check == minusU * sqrtM1
        if flippedSign || flippedSignI { r = r * sqrtM1 }
        return (correctSign || flippedSign, r.absolute)
    }
}
