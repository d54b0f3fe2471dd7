import Foundation
import RMBIdentity

/// Minimal reader of the local twin file (`[[twin]]` tables with `id`, `account`, `pk`,
/// `relays`), used until the `TwinDirectory` target's `LocalTwinDirectory` is merged.
/// The file is re-read when its modification time changes.
public final class FileTwinDirectory: TwinDirectory {
    private let path: String
    private let state = Locked<(modified: Date?, twins: [UInt32: Twin])>((nil, [:]))

    public init(path: String) throws {
        self.path = path
        _ = try load()
    }

    public func twin(id: UInt32) async throws -> Twin? { try load()[id] }

    public func twinID(account: AccountID) async throws -> UInt32? {
        try load().values.first { $0.account == account }?.id
    }

    private func load() throws -> [UInt32: Twin] {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let modified = attributes[.modificationDate] as? Date
        if let cached = state.withLock({ $0.modified == modified && modified != nil ? $0.twins : nil }) { return cached }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let twins = try Self.parse(text)
        state.withLock { $0 = (modified, twins) }
        return twins
    }

    struct ParseError: Error, CustomStringConvertible { let description: String }

    /// A deliberately small TOML subset: `[[twin]]` headers and `key = value` lines with
    /// integers, quoted strings and one-line arrays of quoted strings.
    static func parse(_ text: String) throws -> [UInt32: Twin] {
        var result: [UInt32: Twin] = [:]
        var current: [String: String] = [:]
        var relays: [String] = []
        var lineNumber = 0
        func flush() throws {
            guard !current.isEmpty else { return }
            guard let idText = current["id"], let id = UInt32(idText) else { throw ParseError(description: "twin before line \(lineNumber) has no valid id") }
            guard let accountText = current["account"] else { throw ParseError(description: "twin \(id) has no account") }
            let account = try AccountID(parsing: accountText)
            let addresses = relays.compactMap(RelayAddress.init(parsing:))
            result[id] = Twin(id: id, account: account, relays: addresses, e2ePublicKey: nil)
            current = [:]
            relays = []
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line == "[[twin]]" { try flush(); current["_"] = "1"; continue }
            guard let eq = line.firstIndex(of: "=") else { throw ParseError(description: "line \(lineNumber): expected key = value") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if key == "relays" {
                relays = value.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            } else {
                current[key] = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        try flush()
        return result
    }
}
