/// Keccak-f[1600], the permutation under STROBE-128 (and therefore Merlin and sr25519).
///
/// The 200-byte state holds 25 lanes; lane (x, y) is bytes `[8·(x + 5y), +8)` read as a
/// little-endian `UInt64`. The rounds are fully unrolled over 25 local lanes so the compiler keeps
/// them in registers: there is no heap allocation and no bounds check in the hot path.
public enum Keccak: Sendable {
    /// Size of the permutation state in bytes.
    public static let stateSize = 200

    /// Permutes a 200-byte state in place. Returns `false` (and leaves `state` untouched) when the
    /// buffer is not exactly 200 bytes.
    @discardableResult
    public static func f1600(_ state: inout [UInt8]) -> Bool {
        guard state.count == stateSize else { return false }
        state.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { permute(base) }
        }
        return true
    }

    /// Permutes the 200 bytes at `state` in place (any alignment).
    public static func permute(_ state: UnsafeMutableRawPointer) {
        var a0 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        var a1 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        var a2 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        var a3 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        var a4 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
        var a5 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 40, as: UInt64.self))
        var a6 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 48, as: UInt64.self))
        var a7 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 56, as: UInt64.self))
        var a8 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 64, as: UInt64.self))
        var a9 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 72, as: UInt64.self))
        var a10 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 80, as: UInt64.self))
        var a11 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 88, as: UInt64.self))
        var a12 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 96, as: UInt64.self))
        var a13 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 104, as: UInt64.self))
        var a14 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 112, as: UInt64.self))
        var a15 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 120, as: UInt64.self))
        var a16 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 128, as: UInt64.self))
        var a17 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 136, as: UInt64.self))
        var a18 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 144, as: UInt64.self))
        var a19 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 152, as: UInt64.self))
        var a20 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 160, as: UInt64.self))
        var a21 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 168, as: UInt64.self))
        var a22 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 176, as: UInt64.self))
        var a23 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 184, as: UInt64.self))
        var a24 = UInt64(littleEndian: state.loadUnaligned(fromByteOffset: 192, as: UInt64.self))
        for rc in roundConstants {
            let c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
            let c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
            let c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
            let c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
            let c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
            let d0 = c4 ^ (c1 &<< 1 | c1 &>> 63)
            let d1 = c0 ^ (c2 &<< 1 | c2 &>> 63)
            let d2 = c1 ^ (c3 &<< 1 | c3 &>> 63)
            let d3 = c2 ^ (c4 &<< 1 | c4 &>> 63)
            let d4 = c3 ^ (c0 &<< 1 | c0 &>> 63)
            let t0 = a0 ^ d0
            let b0 = t0
            let t5 = a5 ^ d0
            let b16 = (t5 &<< 36 | t5 &>> 28)
            let t10 = a10 ^ d0
            let b7 = (t10 &<< 3 | t10 &>> 61)
            let t15 = a15 ^ d0
            let b23 = (t15 &<< 41 | t15 &>> 23)
            let t20 = a20 ^ d0
            let b14 = (t20 &<< 18 | t20 &>> 46)
            let t1 = a1 ^ d1
            let b10 = (t1 &<< 1 | t1 &>> 63)
            let t6 = a6 ^ d1
            let b1 = (t6 &<< 44 | t6 &>> 20)
            let t11 = a11 ^ d1
            let b17 = (t11 &<< 10 | t11 &>> 54)
            let t16 = a16 ^ d1
            let b8 = (t16 &<< 45 | t16 &>> 19)
            let t21 = a21 ^ d1
            let b24 = (t21 &<< 2 | t21 &>> 62)
            let t2 = a2 ^ d2
            let b20 = (t2 &<< 62 | t2 &>> 2)
            let t7 = a7 ^ d2
            let b11 = (t7 &<< 6 | t7 &>> 58)
            let t12 = a12 ^ d2
            let b2 = (t12 &<< 43 | t12 &>> 21)
            let t17 = a17 ^ d2
            let b18 = (t17 &<< 15 | t17 &>> 49)
            let t22 = a22 ^ d2
            let b9 = (t22 &<< 61 | t22 &>> 3)
            let t3 = a3 ^ d3
            let b5 = (t3 &<< 28 | t3 &>> 36)
            let t8 = a8 ^ d3
            let b21 = (t8 &<< 55 | t8 &>> 9)
            let t13 = a13 ^ d3
            let b12 = (t13 &<< 25 | t13 &>> 39)
            let t18 = a18 ^ d3
            let b3 = (t18 &<< 21 | t18 &>> 43)
            let t23 = a23 ^ d3
            let b19 = (t23 &<< 56 | t23 &>> 8)
            let t4 = a4 ^ d4
            let b15 = (t4 &<< 27 | t4 &>> 37)
            let t9 = a9 ^ d4
            let b6 = (t9 &<< 20 | t9 &>> 44)
            let t14 = a14 ^ d4
            let b22 = (t14 &<< 39 | t14 &>> 25)
            let t19 = a19 ^ d4
            let b13 = (t19 &<< 8 | t19 &>> 56)
            let t24 = a24 ^ d4
            let b4 = (t24 &<< 14 | t24 &>> 50)
            a0 = b0 ^ (~b1 & b2)
            a1 = b1 ^ (~b2 & b3)
            a2 = b2 ^ (~b3 & b4)
            a3 = b3 ^ (~b4 & b0)
            a4 = b4 ^ (~b0 & b1)
            a5 = b5 ^ (~b6 & b7)
            a6 = b6 ^ (~b7 & b8)
            a7 = b7 ^ (~b8 & b9)
            a8 = b8 ^ (~b9 & b5)
            a9 = b9 ^ (~b5 & b6)
            a10 = b10 ^ (~b11 & b12)
            a11 = b11 ^ (~b12 & b13)
            a12 = b12 ^ (~b13 & b14)
            a13 = b13 ^ (~b14 & b10)
            a14 = b14 ^ (~b10 & b11)
            a15 = b15 ^ (~b16 & b17)
            a16 = b16 ^ (~b17 & b18)
            a17 = b17 ^ (~b18 & b19)
            a18 = b18 ^ (~b19 & b15)
            a19 = b19 ^ (~b15 & b16)
            a20 = b20 ^ (~b21 & b22)
            a21 = b21 ^ (~b22 & b23)
            a22 = b22 ^ (~b23 & b24)
            a23 = b23 ^ (~b24 & b20)
            a24 = b24 ^ (~b20 & b21)
            a0 ^= rc

        }
        state.storeBytes(of: a0.littleEndian, toByteOffset: 0, as: UInt64.self)
        state.storeBytes(of: a1.littleEndian, toByteOffset: 8, as: UInt64.self)
        state.storeBytes(of: a2.littleEndian, toByteOffset: 16, as: UInt64.self)
        state.storeBytes(of: a3.littleEndian, toByteOffset: 24, as: UInt64.self)
        state.storeBytes(of: a4.littleEndian, toByteOffset: 32, as: UInt64.self)
        state.storeBytes(of: a5.littleEndian, toByteOffset: 40, as: UInt64.self)
        state.storeBytes(of: a6.littleEndian, toByteOffset: 48, as: UInt64.self)
        state.storeBytes(of: a7.littleEndian, toByteOffset: 56, as: UInt64.self)
        state.storeBytes(of: a8.littleEndian, toByteOffset: 64, as: UInt64.self)
        state.storeBytes(of: a9.littleEndian, toByteOffset: 72, as: UInt64.self)
        state.storeBytes(of: a10.littleEndian, toByteOffset: 80, as: UInt64.self)
        state.storeBytes(of: a11.littleEndian, toByteOffset: 88, as: UInt64.self)
        state.storeBytes(of: a12.littleEndian, toByteOffset: 96, as: UInt64.self)
        state.storeBytes(of: a13.littleEndian, toByteOffset: 104, as: UInt64.self)
        state.storeBytes(of: a14.littleEndian, toByteOffset: 112, as: UInt64.self)
        state.storeBytes(of: a15.littleEndian, toByteOffset: 120, as: UInt64.self)
        state.storeBytes(of: a16.littleEndian, toByteOffset: 128, as: UInt64.self)
        state.storeBytes(of: a17.littleEndian, toByteOffset: 136, as: UInt64.self)
        state.storeBytes(of: a18.littleEndian, toByteOffset: 144, as: UInt64.self)
        state.storeBytes(of: a19.littleEndian, toByteOffset: 152, as: UInt64.self)
        state.storeBytes(of: a20.littleEndian, toByteOffset: 160, as: UInt64.self)
        state.storeBytes(of: a21.littleEndian, toByteOffset: 168, as: UInt64.self)
        state.storeBytes(of: a22.littleEndian, toByteOffset: 176, as: UInt64.self)
        state.storeBytes(of: a23.littleEndian, toByteOffset: 184, as: UInt64.self)
        state.storeBytes(of: a24.littleEndian, toByteOffset: 192, as: UInt64.self)
    }

    /// Iota round constants.
    private static let roundConstants: [UInt64] = [
        0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
        0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
        0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
        0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
        0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
        0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008
    ]
}
