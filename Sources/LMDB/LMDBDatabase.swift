import CLMDB

/// A database handle (`MDB_dbi`) inside an environment. It is a plain number, valid for the life
/// of the environment once the transaction that opened it committed, and may be shared freely.
public struct LMDBDatabase: Sendable, Hashable {
    /// The raw LMDB handle.
    public let handle: MDB_dbi
    /// The name it was opened with (`nil` for the unnamed main database).
    public let name: String?

    /// Flags used when opening a database.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Keys are compared in reverse byte order.
        public static let reverseKey = Flags(rawValue: UInt32(MDB_REVERSEKEY))
        /// Keys may have several sorted values.
        public static let duplicateSort = Flags(rawValue: UInt32(MDB_DUPSORT))
        /// Keys are native-endian `UInt32`/`size_t` integers compared numerically.
        public static let integerKey = Flags(rawValue: UInt32(MDB_INTEGERKEY))
    }
}

/// Flags for `LMDBTransaction.put`.
public struct LMDBPutFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Fail with `.keyExists` instead of replacing an existing key.
    public static let noOverwrite = LMDBPutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// DUPSORT only: fail with `.keyExists` if this exact key/value pair exists.
    public static let noDuplicateData = LMDBPutFlags(rawValue: UInt32(MDB_NODUPDATA))
    /// The key is greater than every existing key: a fast path for monotonic keys (sequence
    /// numbers). LMDB answers `.keyExists` if the order is violated.
    public static let append = LMDBPutFlags(rawValue: UInt32(MDB_APPEND))
}

/// What a `forEach` body wants next.
public enum LMDBIteration: Sendable {
    case `continue`
    case stop
}

/// Page statistics of one database or the whole environment (`MDB_stat`).
public struct LMDBStat: Sendable, Hashable {
    public var pageSize: Int
    public var depth: Int
    public var branchPages: Int
    public var leafPages: Int
    public var overflowPages: Int
    public var entries: Int
    /// Bytes of pages used by this tree.
    public var usedBytes: Int { (branchPages + leafPages + overflowPages) * pageSize }

    init(_ stat: MDB_stat) {
        pageSize = Int(stat.ms_psize)
        depth = Int(stat.ms_depth)
        branchPages = stat.ms_branch_pages
        leafPages = stat.ms_leaf_pages
        overflowPages = stat.ms_overflow_pages
        entries = stat.ms_entries
    }
}

/// Environment information (`MDB_envinfo`) for metrics and "is the map nearly full" checks.
public struct LMDBInfo: Sendable, Hashable {
    public var mapSize: Int
    /// Number of the last page in use; `(lastPageNumber + 1) * pageSize` bytes of the map are used.
    public var lastPageNumber: Int
    public var lastTransactionID: Int
    public var maxReaders: Int
    /// Reader slots ever used (not the number currently active).
    public var readerSlotsUsed: Int
}
