/// Minimal binary encoding for keys and records. Integers are big-endian so that LMDB's default
/// byte-wise key order is numeric order (FIFO by sequence number, expiry by deadline).
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// A 32-bit length prefix, then the bytes.
    mutating func blob(_ value: [UInt8]) {
        u32(UInt32(clamping: value.count))
        bytes.append(contentsOf: value.prefix(Int(UInt32.max)))
    }

    mutating func string(_ value: String) { blob(Array(value.utf8)) }

    /// A presence byte, then the string if present.
    mutating func optionalString(_ value: String?) {
        if let value {
            u8(1)
            string(value)
        } else {
            u8(0)
        }
    }
}

/// Reads what `ByteWriter` wrote. Every read is bounds-checked: stored bytes come from disk and
/// are not trusted, so a short or damaged record throws instead of trapping.
struct ByteReader {
    struct Truncated: Error {}

    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws(Truncated) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - offset >= count else { throw Truncated() }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func u8() throws(Truncated) -> UInt8 {
        try take(1).first ?? 0
    }

    mutating func u16() throws(Truncated) -> UInt16 {
        try take(2).reduce(0) { $0 << 8 | UInt16($1) }
    }

    mutating func u32() throws(Truncated) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64() throws(Truncated) -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func raw(_ count: Int) throws(Truncated) -> [UInt8] { Array(try take(count)) }

    mutating func blob() throws(Truncated) -> [UInt8] {
        let count = try u32()
        return Array(try take(Int(count)))
    }

    mutating func string() throws(Truncated) -> String {
        String(decoding: try blob(), as: UTF8.self)
    }

    mutating func optionalString() throws(Truncated) -> String? {
        try u8() == 0 ? nil : try string()
    }
}

extension UInt64 {
    /// Eight big-endian bytes (a sequence number or a time as an LMDB key).
    var bigEndianBytes: [UInt8] {
        var writer = ByteWriter(capacity: 8)
        writer.u64(self)
        return writer.bytes
    }

    /// Reads eight big-endian bytes at `offset`, or nil when the key is too short.
    init?(bigEndianBytes bytes: [UInt8], at offset: Int = 0) {
        guard offset >= 0, bytes.count >= offset + 8 else { return nil }
        self = bytes[offset..<(offset + 8)].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
