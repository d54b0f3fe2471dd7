/// Reads the SCALE encoding of metadata V14, turning decoder errors into ``MetadataError``s
/// that say which part of the metadata was being read.
///
/// Every `Vec` length is bounded by the bytes left and the smallest encoding of one item, so
/// a forged count cannot make the parser allocate more than a small multiple of its input.
struct MetadataReader {
    private var decoder: ScaleDecoder
    /// Where in the metadata the reader is, for error messages.
    var context = "header"

    init(_ bytes: [UInt8]) { decoder = ScaleDecoder(bytes) }

    mutating func u8() throws(MetadataError) -> UInt8 {
        do { return try decoder.decodeU8() } catch { throw .malformed(context: context, error) }
    }

    mutating func u32() throws(MetadataError) -> UInt32 {
        do { return try decoder.decodeU32() } catch { throw .malformed(context: context, error) }
    }

    /// `Compact<u32>`, the encoding of type ids.
    mutating func compactU32() throws(MetadataError) -> UInt32 {
        let value: UInt64
        do { value = try decoder.decodeCompact() } catch { throw .malformed(context: context, error) }
        guard let narrow = UInt32(exactly: value) else {
            throw .malformed(context: context, .valueTooLarge("compact u32 \(value)"))
        }
        return narrow
    }

    /// A `Vec` count, where each item encodes to at least `minimumItemSize` bytes.
    mutating func count(minimumItemSize: Int) throws(MetadataError) -> Int {
        do { return try decoder.decodeLength(minimumItemSize: minimumItemSize) } catch { throw .malformed(context: context, error) }
    }

    mutating func bytes() throws(MetadataError) -> [UInt8] {
        do { return try decoder.decodeBytes() } catch { throw .malformed(context: context, error) }
    }

    mutating func string() throws(MetadataError) -> String {
        let raw = try bytes()
        let text = String(decoding: raw, as: UTF8.self)
        guard text.utf8.elementsEqual(raw) else { throw .invalidString(context: context) }
        return text
    }

    /// `Vec<T>` read item by item with `body`.
    mutating func sequence<T>(minimumItemSize: Int, _ body: (inout MetadataReader) throws(MetadataError) -> T) throws(MetadataError) -> [T] {
        let count = try count(minimumItemSize: minimumItemSize)
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try body(&self)) }
        return items
    }

    /// `Option<T>`.
    mutating func optional<T>(_ body: (inout MetadataReader) throws(MetadataError) -> T) throws(MetadataError) -> T? {
        switch try u8() {
        case 0: return nil
        case 1: return try body(&self)
        case let tag: throw .malformed(context: context, .invalidTag("Option", tag: tag, offset: decoder.offset - 1))
        }
    }

    /// An enum tag outside the known variants.
    func invalidTag(_ what: String, _ tag: UInt8) -> MetadataError {
        .malformed(context: context, .invalidTag(what, tag: tag, offset: decoder.offset - 1))
    }

    /// `Vec<String>` of documentation: checked for length, not kept.
    mutating func skipDocs() throws(MetadataError) {
        let lines = try count(minimumItemSize: 1)
        do {
            for _ in 0..<lines { try decoder.skip(decoder.decodeLength()) }
        } catch {
            throw .malformed(context: context, error)
        }
    }

    func requireEnd() throws(MetadataError) {
        do { try decoder.requireEnd() } catch { throw .malformed(context: "end of metadata", error) }
    }
}
