/// Builds SCALE bytes (Substrate's codec): little-endian fixed-width integers, compact integers,
/// length-prefixed byte strings and `Option` tags.
public struct ScaleEncoder: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Raw bytes with no prefix (fixed-size arrays such as `[u8; 32]`, or pre-encoded values).
    public mutating func append(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    public mutating func encode(_ value: UInt8) { bytes.append(value) }
    public mutating func encode(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func encode(_ value: UInt16) { appendLittleEndian(value) }
    public mutating func encode(_ value: UInt32) { appendLittleEndian(value) }
    public mutating func encode(_ value: UInt64) { appendLittleEndian(value) }

    /// `u128` given as its low and high 64-bit halves.
    public mutating func encodeU128(low: UInt64, high: UInt64 = 0) {
        appendLittleEndian(low)
        appendLittleEndian(high)
    }

    /// `Compact<uN>` for values up to 2^64 - 1 (the one-, two-, four-byte and big-integer modes).
    public mutating func encodeCompact(_ value: UInt64) {
        switch value {
        case 0..<(1 << 6):
            bytes.append(UInt8(value) << 2)
        case (1 << 6)..<(1 << 14):
            appendLittleEndian(UInt16(value) << 2 | 0b01)
        case (1 << 14)..<(1 << 30):
            appendLittleEndian(UInt32(value) << 2 | 0b10)
        default:
            var remaining = value
            var payload: [UInt8] = []
            while remaining > 0 {
                payload.append(UInt8(truncatingIfNeeded: remaining))
                remaining >>= 8
            }
            bytes.append(UInt8(payload.count - 4) << 2 | 0b11)
            bytes.append(contentsOf: payload)
        }
    }

    /// `Vec<u8>` / `BoundedVec<u8, N>`: compact length, then the bytes.
    public mutating func encodeBytes(_ value: some Collection<UInt8>) {
        encodeCompact(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// `Option<Vec<u8>>`: `0x00` for `None`, `0x01 ‖ compact(len) ‖ bytes` for `Some`.
    public mutating func encodeOptionalBytes(_ value: [UInt8]?) {
        guard let value else { return bytes.append(0) }
        bytes.append(1)
        encodeBytes(value)
    }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
