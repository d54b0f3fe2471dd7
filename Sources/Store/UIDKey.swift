import RMBCrypto

/// The key component for an envelope uid. Uids are chosen by remote twins and applications
/// (a service's `ref`) and may be of any length, while LMDB keys are at most 511 bytes; so a
/// uid of up to `inlineLimit` bytes is stored as-is and a longer one as its SHA-256. A 16-bit
/// prefix (the uid's length, or 0xFFFF for the hashed form) keeps both forms apart and makes
/// prefix scans exact ("ab" never matches "abc").
enum UIDKey {
    static let inlineLimit = 256

    static func encode(_ uid: String) -> [UInt8] {
        let bytes = Array(uid.utf8)
        var writer = ByteWriter(capacity: min(bytes.count, inlineLimit) + 2)
        if bytes.count <= inlineLimit {
            writer.u16(UInt16(bytes.count))
            writer.raw(bytes)
        } else {
            writer.u16(UInt16.max)
            writer.raw(OpenSSL.sha256(bytes))
        }
        return writer.bytes
    }
}
