/// Reads SCALE bytes front to back. Every read checks bounds and throws ``ScaleError``, so
/// data from a node (or anyone pretending to be one) can never crash the process.
public struct ScaleDecoder: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Throws unless every byte was consumed (a value followed by junk is malformed).
    public func requireEnd() throws(ScaleError) {
        if remaining > 0 { throw .trailingBytes(count: remaining) }
    }

    public mutating func readBytes(_ count: Int) throws(ScaleError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .unexpectedEnd(offset: offset, needed: count - remaining) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func skip(_ count: Int) throws(ScaleError) {
        guard count >= 0, count <= remaining else { throw .unexpectedEnd(offset: offset, needed: count - remaining) }
        offset += count
    }

    public mutating func decodeU8() throws(ScaleError) -> UInt8 {
        guard remaining >= 1 else { throw .unexpectedEnd(offset: offset, needed: 1) }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func decodeBool() throws(ScaleError) -> Bool {
        let at = offset
        switch try decodeU8() {
        case 0: return false
        case 1: return true
        case let tag: throw .invalidTag("bool", tag: tag, offset: at)
        }
    }

    public mutating func decodeU16() throws(ScaleError) -> UInt16 { try decodeLittleEndian() }
    public mutating func decodeU32() throws(ScaleError) -> UInt32 { try decodeLittleEndian() }
    public mutating func decodeU64() throws(ScaleError) -> UInt64 { try decodeLittleEndian() }

    /// `Compact<uN>` up to 2^64 - 1; larger values (possible for `Compact<u128>`) throw.
    public mutating func decodeCompact() throws(ScaleError) -> UInt64 {
        let start = offset
        let first = try decodeU8()
        switch first & 0b11 {
        case 0b00:
            return UInt64(first >> 2)
        case 0b01:
            let second = try decodeU8()
            let value = (UInt64(second) << 8 | UInt64(first)) >> 2
            guard value >= 1 << 6 else { throw .invalidCompact(offset: start) }
            return value
        case 0b10:
            let rest = try readBytes(3)
            let raw = UInt32(first) | UInt32(rest[0]) << 8 | UInt32(rest[1]) << 16 | UInt32(rest[2]) << 24
            let value = UInt64(raw >> 2)
            guard value >= 1 << 14 else { throw .invalidCompact(offset: start) }
            return value
        default:
            let length = Int(first >> 2) + 4
            let payload = try readBytes(length)
            guard payload.last != 0 else { throw .invalidCompact(offset: start) }
            guard length <= 8 else { throw .valueTooLarge("compact integer of \(length) bytes") }
            var value: UInt64 = 0
            for (index, byte) in payload.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            guard value >= 1 << 30 else { throw .invalidCompact(offset: start) }
            return value
        }
    }

    /// A compact length or count, bounded by what is left to read when each item takes at
    /// least `minimumItemSize` bytes, so a forged length cannot trigger a huge allocation.
    public mutating func decodeLength(minimumItemSize: Int = 1) throws(ScaleError) -> Int {
        let value = try decodeCompact()
        let limit = minimumItemSize > 0 ? remaining / minimumItemSize : Int(Int32.max)
        guard value <= UInt64(limit) else { throw .unexpectedEnd(offset: offset, needed: Int(clamping: value) - limit) }
        return Int(value)
    }

    /// `Vec<u8>`: compact length then the bytes.
    public mutating func decodeBytes(maximumLength: Int = .max) throws(ScaleError) -> [UInt8] {
        let length = try decodeLength()
        guard length <= maximumLength else { throw .valueTooLarge("\(length) bytes (at most \(maximumLength))") }
        return try readBytes(length)
    }

    /// `Option<T>`: tag `0x00` → `nil`, `0x01` → the value read by `body`.
    public mutating func decodeOption<T>(_ body: (inout ScaleDecoder) throws(ScaleError) -> T) throws(ScaleError) -> T? {
        let at = offset
        switch try decodeU8() {
        case 0: return nil
        case 1: return try body(&self)
        case let tag: throw .invalidTag("Option", tag: tag, offset: at)
        }
    }

    private mutating func decodeLittleEndian<T: FixedWidthInteger>() throws(ScaleError) -> T {
        let size = MemoryLayout<T>.size
        let raw = try readBytes(size)
        var value: T = 0
        for (index, byte) in raw.enumerated() { value |= T(byte) << (8 * index) }
        return value
    }
}
