/// Why SCALE bytes could not be decoded or a value could not be encoded.
public enum ScaleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before `needed` more bytes could be read (at `offset`).
    case unexpectedEnd(offset: Int, needed: Int)
    /// A compact integer used a non-canonical or unsupported form.
    case invalidCompact(offset: Int)
    /// A length, count or value does not fit what the reader allows.
    case valueTooLarge(String)
    /// An `Option`/`bool` tag or enum variant that the type does not have.
    case invalidTag(String, tag: UInt8, offset: Int)
    /// Bytes were left over after a value that should have consumed everything.
    case trailingBytes(count: Int)
    /// A type the metadata describes but this decoder cannot interpret.
    case unsupportedType(String)

    public var description: String {
        switch self {
        case .unexpectedEnd(let offset, let needed): "SCALE input ended at byte \(offset) (\(needed) more needed)"
        case .invalidCompact(let offset): "invalid compact integer at byte \(offset)"
        case .valueTooLarge(let what): "SCALE value too large: \(what)"
        case .invalidTag(let what, let tag, let offset): "invalid \(what) tag \(tag) at byte \(offset)"
        case .trailingBytes(let count): "\(count) unexpected trailing byte(s) after a SCALE value"
        case .unsupportedType(let what): "unsupported SCALE type: \(what)"
        }
    }
}
