import Foundation

/// Locates the repository's test fixtures (copies of `../shared/spec/vectors`, the BIP39 word
/// list and the tfchain metadata snapshot) relative to this source file, so tests work from any
/// clone and any working directory.
public enum Fixtures {
    public static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // RMBTestSupport
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures")

    /// Raw bytes of a fixture, e.g. `Fixtures.data("vectors/envelopes.json")`.
    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(relativePath))
    }

    /// A JSON fixture parsed with JSONSerialization.
    public static func json(_ relativePath: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data(relativePath)) as? [String: Any] else {
            throw FixtureError.notAnObject(relativePath)
        }
        return object
    }

    public enum FixtureError: Error { case notAnObject(String), missing(String) }
}

/// Hex helpers for tests.
public extension Array where Element == UInt8 {
    init(testHex hex: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        self = bytes
    }

    var testHex: String { map { String(format: "%02x", $0) }.joined() }
}
