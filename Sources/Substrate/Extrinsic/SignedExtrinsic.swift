/// A signed, encoded extrinsic ready for `author_submitAndWatchExtrinsic`.
public struct SignedExtrinsic: Sendable, Hashable {
    /// `compact(length) ‖ 0x84 ‖ address ‖ signature ‖ extra ‖ call`: the bytes as submitted.
    public let bytes: [UInt8]
    /// blake2_256 of `bytes` (length prefix included): the hash the node reports for the
    /// transaction and block explorers show, so a watcher can find it in a block body.
    public let hash: [UInt8]

    init(bytes: [UInt8]) throws(ExtrinsicError) {
        self.bytes = bytes
        hash = try ExtrinsicHashing.blake2_256(bytes)
    }

    /// `0x`-prefixed lowercase hex, the form the JSON-RPC API takes.
    public var hexString: String { "0x" + Self.hex(bytes) }
    /// `0x`-prefixed lowercase hex of `hash`.
    public var hashHexString: String { "0x" + Self.hex(hash) }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
