import Foundation

/// `dat` fields are standard base64; the peer writes them padded and accepts them with or
/// without padding (peer.md §4). Whitespace and the URL-safe alphabet are refused.
public enum Base64Payload {
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var padded = text
        switch text.utf8.count % 4 {
        case 0: break
        case 2: padded += "=="
        case 3: padded += "="
        default: return nil
        }
        guard let data = Data(base64Encoded: padded) else { return nil }
        return [UInt8](data)
    }
}
