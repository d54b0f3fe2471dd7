/// Generic reading of values whose types are known only from the registry: skipping one value
/// (to reach later fields) or taking its raw bytes (to hand to a typed decoder).
///
/// Input comes from a node, so everything is bounded: lengths against the bytes left, nesting
/// against ``TypeRegistry/maximumNestingDepth`` (recursive types such as a call that contains
/// calls could otherwise exhaust the stack), and loops over types that encode to zero bytes
/// are not run at all, so the work stays proportional to the input.
extension TypeRegistry {
    /// How deep values may nest; real runtime values stay far below this.
    public static let maximumNestingDepth = 64

    /// Consumes one SCALE value of type `typeID` from `decoder`.
    public func skipValue(of typeID: UInt32, in decoder: inout ScaleDecoder) throws(ScaleError) {
        try skip(typeID, &decoder, depth: 0)
    }

    /// Consumes one SCALE value of type `typeID` and returns its bytes.
    public func valueBytes(of typeID: UInt32, in decoder: inout ScaleDecoder) throws(ScaleError) -> [UInt8] {
        let start = decoder.offset
        try skip(typeID, &decoder, depth: 0)
        return Array(decoder.bytes[start..<decoder.offset])
    }

    func skip(_ typeID: UInt32, _ decoder: inout ScaleDecoder, depth: Int) throws(ScaleError) {
        guard depth < Self.maximumNestingDepth else {
            throw .valueTooLarge("value nesting deeper than \(Self.maximumNestingDepth) at byte \(decoder.offset)")
        }
        guard let type = type(typeID) else { throw .unsupportedType("type id \(typeID) is not in the registry") }
        if encodesToZeroBytes(typeID) { return }
        switch type.definition {
        case .composite(let fields):
            for field in fields { try skip(field.type, &decoder, depth: depth + 1) }
        case .tuple(let elements):
            for element in elements { try skip(element, &decoder, depth: depth + 1) }
        case .variant(let variants):
            let at = decoder.offset
            let tag = try decoder.decodeU8()
            guard let variant = variants.first(where: { $0.index == tag }) else {
                throw .invalidTag("\(type.pathString.isEmpty ? "enum" : type.pathString) (type \(typeID))", tag: tag, offset: at)
            }
            for field in variant.fields { try skip(field.type, &decoder, depth: depth + 1) }
        case .sequence(let element):
            if encodesToZeroBytes(element) {
                _ = try decoder.decodeCompact()
            } else if let size = fixedPrimitiveSize(element) {
                try decoder.skip(decoder.decodeLength(minimumItemSize: size) * size)
            } else {
                let count = try decoder.decodeLength(minimumItemSize: 1)
                for _ in 0..<count { try skip(element, &decoder, depth: depth + 1) }
            }
        case .array(let length, let element):
            guard length > 0, !encodesToZeroBytes(element) else { return }
            guard Int(length) <= decoder.remaining else {
                throw .unexpectedEnd(offset: decoder.offset, needed: Int(length) - decoder.remaining)
            }
            if let size = fixedPrimitiveSize(element) {
                try decoder.skip(Int(length) * size)
            } else {
                for _ in 0..<length { try skip(element, &decoder, depth: depth + 1) }
            }
        case .primitive(let primitive):
            if let size = primitive.fixedSize {
                try decoder.skip(size)
            } else {
                try decoder.skip(decoder.decodeLength())
            }
        case .compact:
            try Self.skipCompact(&decoder)
        case .bitSequence(let store, _):
            try skipBitSequence(store: store, &decoder)
        }
    }

    /// Any compact integer, whatever its width (`Compact<u128>` may take up to 17 bytes).
    static func skipCompact(_ decoder: inout ScaleDecoder) throws(ScaleError) {
        let first = try decoder.decodeU8()
        switch first & 0b11 {
        case 0b00: break
        case 0b01: try decoder.skip(1)
        case 0b10: try decoder.skip(3)
        default: try decoder.skip(Int(first >> 2) + 4)
        }
    }

    /// `BitVec<Store, Order>`: a compact bit count, then that many bits in whole `Store` words.
    private func skipBitSequence(store: UInt32, _ decoder: inout ScaleDecoder) throws(ScaleError) {
        guard let wordSize = fixedPrimitiveSize(store), [1, 2, 4, 8].contains(wordSize) else {
            throw .unsupportedType("bit sequence store type \(store)")
        }
        let bits = try decoder.decodeCompact()
        let wordBits = UInt64(wordSize * 8)
        let words = bits / wordBits + (bits % wordBits == 0 ? 0 : 1)
        guard words <= UInt64(decoder.remaining / wordSize) else {
            throw .unexpectedEnd(offset: decoder.offset, needed: Int(clamping: words) - decoder.remaining / wordSize)
        }
        try decoder.skip(Int(words) * wordSize)
    }

    /// The size of a fixed-size primitive (u8, u32, …), for skipping runs of them at once.
    private func fixedPrimitiveSize(_ typeID: UInt32) -> Int? {
        if case .primitive(let primitive)? = type(typeID)?.definition { primitive.fixedSize } else { nil }
    }
}
