/// Problems with a local twin file. Every case names the file and, where it applies, the
/// 1-based position of the `[[twin]]` table, so one line is enough to find the mistake.
public enum LocalTwinFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)
    /// Not valid TOML (or not UTF-8); line and column are 1-based, 0 when unknown.
    case invalidTOML(path: String, line: Int, column: Int, message: String)
    /// Valid TOML, but not shaped like a twin file (e.g. `[twin]` instead of `[[twin]]`).
    case invalidStructure(path: String, message: String)
    /// A bad or missing field in the `index`-th `[[twin]]` (1-based).
    case invalidTwin(path: String, index: Int, field: String, message: String)
    case duplicateID(path: String, id: UInt32, firstIndex: Int, secondIndex: Int)
    case duplicateAccount(path: String, account: String, firstIndex: Int, secondIndex: Int)
    /// `upsert` of a twin whose account already belongs to another twin id.
    case accountInUse(path: String, account: String, ownerID: UInt32)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            "\(path): no such twin file"
        case let .unreadable(path, reason):
            "\(path): cannot read: \(reason)"
        case let .unwritable(path, reason):
            "\(path): cannot write: \(reason)"
        case let .invalidTOML(path, line, column, message):
            line > 0 ? "\(path):\(line):\(column): invalid TOML: \(message)" : "\(path): invalid TOML: \(message)"
        case let .invalidStructure(path, message):
            "\(path): \(message)"
        case let .invalidTwin(path, index, field, message):
            "\(path): [[twin]] #\(index): \(field): \(message)"
        case let .duplicateID(path, id, first, second):
            "\(path): [[twin]] #\(second) repeats id \(id) of [[twin]] #\(first)"
        case let .duplicateAccount(path, account, first, second):
            "\(path): [[twin]] #\(second) repeats account \(account) of [[twin]] #\(first)"
        case let .accountInUse(path, account, owner):
            "\(path): account \(account) already belongs to twin \(owner)"
        }
    }
}
