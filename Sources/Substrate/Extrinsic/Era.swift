/// A transaction's mortality, as Substrate's `sp_runtime::generic::Era`.
///
/// A mortal transaction is valid only for `period` blocks from its birth block, so a signed
/// extrinsic that got lost cannot be replayed much later; its signature also covers the hash of
/// the birth block (see `SignedExtensionValues.checkpointBlockHash`), which pins it to one fork.
/// An immortal one is valid forever and signs the genesis hash instead.
///
/// Mirrors the Rust type: build with `mortal(period:current:)`, which applies the runtime's
/// rounding; `.mortal(period:phase:)` is the raw pair as it is encoded.
public enum Era: Sendable, Hashable {
    case immortal
    /// `period` is a power of two in 4...65536 and `phase < period` for any value the runtime accepts.
    case mortal(period: UInt64, phase: UInt64)

    /// The largest period Substrate allows (and the one an overflowing request is clamped to).
    public static let maximumPeriod: UInt64 = 1 << 16
    public static let minimumPeriod: UInt64 = 4

    /// Substrate's `Era::mortal`: the period is rounded up to a power of two and clamped to
    /// 4...65536; the phase is `current % period`, quantized to a multiple of
    /// `max(period >> 12, 1)` so it fits the 12 bits the encoding gives it.
    public static func mortal(period requested: UInt64, current: UInt64) -> Era {
        let period = min(max(nextPowerOfTwo(requested) ?? maximumPeriod, minimumPeriod), maximumPeriod)
        let quantizeFactor = max(period >> 12, 1)
        let phase = current % period / quantizeFactor * quantizeFactor
        return .mortal(period: period, phase: phase)
    }

    /// One byte `0x00` for immortal; otherwise two little-endian bytes: the low 4 bits hold
    /// `log2(period) - 1`, the upper 12 bits `phase / quantizeFactor`.
    public var encoded: [UInt8] {
        switch self {
        case .immortal:
            return [0]
        case .mortal(let period, let phase):
            let quantizeFactor = max(period >> 12, 1)
            let low = UInt16(min(max(period.trailingZeroBitCount - 1, 1), 15))
            let value = low | UInt16(truncatingIfNeeded: (phase / quantizeFactor) << 4)
            return [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
        }
    }

    /// Decodes an era (Substrate's `Decode for Era`), refusing pairs the runtime refuses.
    public init(from decoder: inout ScaleDecoder) throws(ExtrinsicError) {
        let first: UInt8
        let second: UInt8
        do {
            first = try decoder.decodeU8()
            if first == 0 {
                self = .immortal
                return
            }
            second = try decoder.decodeU8()
        } catch {
            throw .invalidEra(Array(decoder.bytes[min(decoder.offset, decoder.bytes.count)...]))
        }
        let encoded = UInt64(first) | UInt64(second) << 8
        let period: UInt64 = 2 << (encoded % 16)
        let quantizeFactor = max(period >> 12, 1)
        let phase = (encoded >> 4) * quantizeFactor
        guard period >= Era.minimumPeriod, phase < period else { throw .invalidEra([first, second]) }
        self = .mortal(period: period, phase: phase)
    }

    /// The first block in which the transaction is valid, given any block number `current` of
    /// its period (normally the block it was built at). The runtime checks the signature against
    /// this block's hash. 0 (genesis) for an immortal era.
    public func birthBlock(current: UInt64) -> UInt64 {
        switch self {
        case .immortal: 0
        case .mortal(let period, let phase): (max(current, phase) - phase) / period * period + phase
        }
    }

    /// The first block at which the transaction is no longer valid (`UInt64.max` if immortal).
    public func deathBlock(current: UInt64) -> UInt64 {
        switch self {
        case .immortal: .max
        case .mortal(let period, _): birthBlock(current: current) &+ period
        }
    }

    /// `u64::checked_next_power_of_two`: nil when the result does not fit.
    private static func nextPowerOfTwo(_ value: UInt64) -> UInt64? {
        guard value > 1 else { return 1 }
        let shift = UInt64.bitWidth - (value - 1).leadingZeroBitCount
        return shift < UInt64.bitWidth ? 1 << UInt64(shift) : nil
    }
}
