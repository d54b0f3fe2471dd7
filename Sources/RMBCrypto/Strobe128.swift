/// The subset of STROBE-128 (v1.0.2) that Merlin transcripts use, ported from the merlin crate's
/// `strobe.rs`: `meta_ad`, `ad`, `prf` and `key`, without transport or direction handling.
///
/// A value type whose 200-byte Keccak state is stored inline, so copying a transcript (as
/// schnorrkel does to derive a witness) is a plain memory copy with no heap allocation.
public struct Strobe128: Sendable {
    /// Bytes absorbed per Keccak-f call: `200 − 2·(128 / 8) − 2`.
    public static let rate = 166

    private static let flagI: UInt8 = 1 << 0
    private static let flagA: UInt8 = 1 << 1
    private static let flagC: UInt8 = 1 << 2
    private static let flagT: UInt8 = 1 << 3
    private static let flagM: UInt8 = 1 << 4
    private static let flagK: UInt8 = 1 << 5

    /// 25 lanes = 200 bytes, laid out contiguously (homogeneous tuple) and 8-byte aligned.
    typealias Lanes = (
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64
    )

    /// Keccak-f of the STROBE init block `[1, rate+2, 1, 0, 1, 96] ‖ "STROBEv1.0.2"`. It does not
    /// depend on the protocol label, so it is computed once per process.
    private static let initialState: Lanes = {
        var lanes: Lanes = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let block: [UInt8] = [0x01, UInt8(rate + 2), 0x01, 0x00, 0x01, 0x60] + Array("STROBEv1.0.2".utf8)
        withUnsafeMutableBytes(of: &lanes) { state in
            for (index, byte) in block.enumerated() { state[index] = byte }
            if let base = state.baseAddress { Keccak.permute(base) }
        }
        return lanes
    }()

    private var state: Lanes
    private var pos: Int = 0
    private var posBegin: Int = 0
    private var curFlags: UInt8 = 0

    /// STROBE `init(protocolLabel)`: the init block, then `meta_ad(protocolLabel)`.
    public init(protocolLabel: [UInt8]) {
        state = Self.initialState
        metaAD(protocolLabel, more: false)
    }

    // MARK: Operations

    /// Absorbs framing / metadata (`meta_ad`).
    public mutating func metaAD(_ data: [UInt8], more: Bool) {
        data.withUnsafeBytes { metaAD(raw: $0, more: more) }
    }

    /// Absorbs associated data (`ad`).
    public mutating func ad(_ data: [UInt8], more: Bool) {
        data.withUnsafeBytes { ad(raw: $0, more: more) }
    }

    /// Squeezes `count` pseudo-random bytes (`prf`).
    public mutating func prf(count: Int, more: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(0, count))
        out.withUnsafeMutableBytes { prf(into: $0, more: more) }
        return out
    }

    /// Overwrites the state with key material (`key`).
    public mutating func key(_ data: [UInt8], more: Bool) {
        data.withUnsafeBytes { key(raw: $0, more: more) }
    }

    // MARK: Allocation-free variants used by MerlinTranscript

    mutating func metaAD(raw data: UnsafeRawBufferPointer, more: Bool) {
        beginOp(Self.flagM | Self.flagA, more: more)
        absorb(data)
    }

    mutating func ad(raw data: UnsafeRawBufferPointer, more: Bool) {
        beginOp(Self.flagA, more: more)
        absorb(data)
    }

    mutating func prf(into out: UnsafeMutableRawBufferPointer, more: Bool) {
        beginOp(Self.flagI | Self.flagA | Self.flagC, more: more)
        walk(count: out.count) { state, position, index in
            out[index] = state[position]
            state[position] = 0
        }
    }

    mutating func key(raw data: UnsafeRawBufferPointer, more: Bool) {
        beginOp(Self.flagA | Self.flagC, more: more)
        walk(count: data.count) { state, position, index in state[position] = data[index] }
    }

    // MARK: Introspection (conformance tests)

    /// The 200-byte Keccak state.
    public var stateBytes: [UInt8] { withUnsafeBytes(of: state) { Array($0) } }
    /// Current position in the rate.
    public var position: Int { pos }
    /// Position at which the current operation began (STROBE `pos_begin`).
    public var positionBegin: Int { posBegin }

    // MARK: Internals

    private mutating func absorb(_ data: UnsafeRawBufferPointer) {
        walk(count: data.count) { state, position, index in state[position] ^= data[index] }
    }

    /// Visits `count` consecutive state positions, running Keccak-f whenever the rate is full.
    @inline(__always)
    private mutating func walk(count: Int, _ body: (UnsafeMutableRawBufferPointer, Int, Int) -> Void) {
        guard count > 0 else { return }
        var position = pos
        var begin = posBegin
        withUnsafeMutableBytes(of: &state) { state in
            for index in 0..<count {
                body(state, position, index)
                position += 1
                if position == Self.rate {
                    Self.runF(state, position: position, begin: begin)
                    position = 0
                    begin = 0
                }
            }
        }
        pos = position
        posBegin = begin
    }

    /// Pads (`pos_begin`, 0x04 domain byte, 0x80 at the rate end) and permutes.
    private static func runF(_ state: UnsafeMutableRawBufferPointer, position: Int, begin: Int) {
        state[position] ^= UInt8(truncatingIfNeeded: begin)
        state[position + 1] ^= 0x04
        state[rate + 1] ^= 0x80
        if let base = state.baseAddress { Keccak.permute(base) }
    }

    private mutating func runF() {
        let (position, begin) = (pos, posBegin)
        withUnsafeMutableBytes(of: &state) { Self.runF($0, position: position, begin: begin) }
        pos = 0
        posBegin = 0
    }

    /// Starts an operation: absorbs `(old pos_begin, flags)` and forces Keccak-f before
    /// cipher-like (C) or key (K) operations. With `more`, continues the previous operation,
    /// which must have used the same flags (merlin asserts this; every caller here complies).
    private mutating func beginOp(_ flags: UInt8, more: Bool) {
        if more {
            assert(curFlags == flags, "STROBE: continued operation with different flags")
            return
        }
        assert(flags & Self.flagT == 0, "STROBE: transport operations are not supported")
        let oldBegin = UInt8(truncatingIfNeeded: posBegin)
        posBegin = pos + 1
        curFlags = flags
        withUnsafeBytes(of: (oldBegin, flags)) { absorb($0) }
        if flags & (Self.flagC | Self.flagK) != 0 && pos != 0 {
            runF()
        }
    }
}
