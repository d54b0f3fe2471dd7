import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from the LMDB wrapper. Return codes the Store must react to get their own case
/// (`mapFull` is turned into a "store full" answer to the application, never silent loss);
/// everything else keeps LMDB's own text so logs stay useful.
public enum LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `MDB_MAP_FULL`: the write did not fit in the configured map size. The transaction has been
    /// (or must be) aborted; data committed earlier is intact. Grow with `setMapSize` or free space.
    case mapFull
    /// `MDB_NOTFOUND`: key or data not found (only surfaced where absence is not a normal result).
    case notFound
    /// `MDB_KEYEXIST`: `put` with `.noOverwrite` / `.noDupData` found an existing item.
    case keyExists
    /// `MDB_READERS_FULL`: all reader slots are in use; raise `maxReaders` or finish readers sooner.
    case readersFull
    /// `MDB_DBS_FULL`: more named databases were opened than `maxDatabases` allows.
    case databasesFull
    /// `MDB_TXN_FULL`: one transaction touched too many dirty pages; split the work.
    case transactionFull
    /// `MDB_BAD_VALSIZE`: empty key, key longer than 511 bytes, or a bad DUPSORT value size.
    case badValueSize
    /// `MDB_MAP_RESIZED`: another process grew the map (handled internally by re-adopting it).
    case mapResized
    /// `MDB_INVALID` / `MDB_VERSION_MISMATCH` / `MDB_CORRUPTED` / `MDB_PANIC`: the file is not a
    /// usable LMDB environment, or the environment must be closed and reopened.
    case unusable(code: Int32, message: String)
    /// The environment could not be opened at `path` (errno or LMDB code with its text).
    case cannotOpen(path: String, code: Int32, message: String)
    /// The environment was closed, or a transaction was used after its closure returned.
    case closed
    /// Any other LMDB or system error code, with `mdb_strerror` text.
    case other(code: Int32, message: String)

    /// Maps an LMDB / errno return code (non-zero) to an error.
    init(code: Int32) {
        switch code {
        case MDB_MAP_FULL: self = .mapFull
        case MDB_NOTFOUND: self = .notFound
        case MDB_KEYEXIST: self = .keyExists
        case MDB_READERS_FULL: self = .readersFull
        case MDB_DBS_FULL: self = .databasesFull
        case MDB_TXN_FULL: self = .transactionFull
        case MDB_BAD_VALSIZE: self = .badValueSize
        case MDB_MAP_RESIZED: self = .mapResized
        case MDB_INVALID, MDB_VERSION_MISMATCH, MDB_CORRUPTED, MDB_PANIC:
            self = .unusable(code: code, message: LMDBError.text(code))
        default: self = .other(code: code, message: LMDBError.text(code))
        }
    }

    /// `mdb_strerror` handles both LMDB codes and errno values.
    static func text(_ code: Int32) -> String {
        guard let cString = mdb_strerror(code) else { return "error \(code)" }
        return String(cString: cString)
    }

    public var description: String {
        switch self {
        case .mapFull: "LMDB map is full: the write was rolled back (increase the map size or free space)"
        case .notFound: "LMDB: key not found"
        case .keyExists: "LMDB: key already exists"
        case .readersFull: "LMDB: all reader slots are in use (increase maxReaders)"
        case .databasesFull: "LMDB: too many named databases (increase maxDatabases)"
        case .transactionFull: "LMDB: transaction has too many dirty pages"
        case .badValueSize: "LMDB: invalid key or value size (keys must be 1...511 bytes)"
        case .mapResized: "LMDB: map was resized by another process"
        case let .unusable(code, message): "LMDB environment unusable (\(code)): \(message)"
        case let .cannotOpen(path, code, message): "cannot open LMDB environment at \(path) (\(code)): \(message)"
        case .closed: "LMDB environment or transaction is closed"
        case let .other(code, message): "LMDB error \(code): \(message)"
        }
    }
}

/// Throws the mapped error for a non-zero return code.
@inline(__always)
func check(_ code: Int32) throws(LMDBError) {
    if code != 0 { throw LMDBError(code: code) }
}
