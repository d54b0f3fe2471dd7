/// The two signing schemes of a twin account (identity.md §3). The raw value is the type byte
/// that prefixes every wire signature.
public enum KeyType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case ed25519 = 0x65  // 'e'
    case sr25519 = 0x73  // 's'

    /// Case-insensitive `sr25519` / `ed25519` (the reference's `--key-type`).
    public init?(name: String) {
        switch name.lowercased() {
        case "sr25519": self = .sr25519
        case "ed25519": self = .ed25519
        default: return nil
        }
    }

    public var description: String { self == .ed25519 ? "ed25519" : "sr25519" }
}
