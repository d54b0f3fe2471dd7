import LMDB

/// Errors of the store. The peer maps them to answers for the application: `.full` must reach
/// the client as an error reply (never a silent drop); the others are operational failures.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The LMDB map is full: the write was rolled back and nothing of it is stored. The text is
    /// meant to be shown to the application that sent the message.
    case full(message: String)
    /// The store was closed (shutdown in progress); the write was not attempted.
    case closed
    /// Bytes on disk that do not decode: a bug or a damaged file. Never a crash.
    case corrupt(database: String, reason: String)
    /// The environment could not be opened or a database is missing.
    case cannotOpen(path: String, reason: String)
    /// Any other LMDB failure, with its text.
    case storage(String)

    /// The `.full` error for a map of `mapSize` bytes.
    static func full(mapSize: Int) -> StoreError {
        .full(message: "message store is full (\(mapSize / (1 << 20)) MiB map): nothing was stored; retry later or raise the store map size")
    }

    /// `error` as a store error: store errors pass through, anything else becomes `.storage`.
    static func converting(_ error: any Error) -> StoreError {
        (error as? StoreError) ?? .storage(String(describing: error))
    }

    /// Maps wrapper errors; store errors pass through unchanged.
    static func wrap(_ error: any Error, mapSize: Int) -> StoreError {
        switch error {
        case let store as StoreError: return store
        case LMDBError.mapFull: return .full(mapSize: mapSize)
        case LMDBError.closed: return .closed
        case let lmdb as LMDBError: return .storage(lmdb.description)
        default: return .storage(String(describing: error))
        }
    }

    public var description: String {
        switch self {
        case let .full(message): message
        case .closed: "message store is closed"
        case let .corrupt(database, reason): "message store database '\(database)' holds undecodable data: \(reason)"
        case let .cannotOpen(path, reason): "cannot open message store at \(path): \(reason)"
        case let .storage(text): "message store error: \(text)"
        }
    }
}
