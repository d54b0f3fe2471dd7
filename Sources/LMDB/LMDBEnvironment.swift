import CLMDB
import Foundation

/// One LMDB environment (`MDB_env*`): a memory-mapped file holding the named databases.
///
/// Thread safety: LMDB environment handles are thread-safe, and the environment is always opened
/// with `MDB_NOTLS`, so read transactions are not tied to a thread-local reader slot. That is why
/// this class can be `Sendable`. The rules the caller still has to respect:
/// - `write` and `read` are synchronous: the transaction lives exactly as long as the closure and
///   never leaves the calling thread (LMDB's writer mutex must be released by the thread that took
///   it). Do not `await` inside them (they are not async closures, so you can't).
/// - Only one write transaction runs at a time; a second `write` blocks its thread until the first
///   finishes. From async code, run writes on a dedicated thread (the Store's group-commit writer).
/// - Never call `write` inside `write` on the same thread (self-deadlock), nor `setMapSize` /
///   `close` inside any transaction (they wait for all transactions to end).
/// - Open one `LMDBEnvironment` per path per process: LMDB's locks are per process, so a second
///   handle on the same file in the same process corrupts the lock state.
public final class LMDBEnvironment: @unchecked Sendable {
    /// Environment flags. `MDB_NOTLS` is always added. Durability relaxations (`noSync`,
    /// `noMetaSync`, `mapAsync`) are off by default; acknowledged writes must survive power loss.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `path` is the data file itself (plus `path-lock`), not a directory.
        public static let noSubdirectory = Flags(rawValue: UInt32(MDB_NOSUBDIR))
        public static let readOnly = Flags(rawValue: UInt32(MDB_RDONLY))
        public static let writeMap = Flags(rawValue: UInt32(MDB_WRITEMAP))
        /// Not durable: a crash may lose the last transactions. Tests and benches only.
        public static let noSync = Flags(rawValue: UInt32(MDB_NOSYNC))
        /// Not durable across power loss: the meta page is not fsync'd on commit.
        public static let noMetaSync = Flags(rawValue: UInt32(MDB_NOMETASYNC))
        public static let mapAsync = Flags(rawValue: UInt32(MDB_MAPASYNC))
        public static let noReadAhead = Flags(rawValue: UInt32(MDB_NORDAHEAD))
        public static let noMemoryInit = Flags(rawValue: UInt32(MDB_NOMEMINIT))
    }

    /// The path the environment was opened at.
    public let path: String
    /// The flags in effect (including `MDB_NOTLS`).
    public let flags: UInt32
    /// Reader slots of dead processes cleared by `mdb_reader_check` when opening.
    public let staleReadersCleared: Int

    let env: OpaquePointer
    let gate = TransactionGate()
    private let databaseLock = NSLock()

    private init(env: OpaquePointer, path: String, flags: UInt32, staleReadersCleared: Int) {
        self.env = env
        self.path = path
        self.flags = flags
        self.staleReadersCleared = staleReadersCleared
    }

    deinit {
        if !gate.isClosed { mdb_env_close(env) }
    }

    /// Opens (creating if needed) the environment at `path`.
    ///
    /// - Parameters:
    ///   - path: a directory (created with mode 0700 if missing), or the data file with `.noSubdirectory`.
    ///   - mapSize: maximum size of the data in bytes; writes beyond it fail with `.mapFull`.
    ///     Rounded by LMDB to a page multiple; an existing larger map is kept.
    ///   - maxDatabases: how many named databases may be opened.
    ///   - maxReaders: concurrent read transactions (each active `read` takes one slot).
    ///   - mode: permissions of newly created files (envelopes are private: 0600).
    public static func open(
        path: String,
        mapSize: Int = 1 << 30,
        maxDatabases: Int = 16,
        maxReaders: Int = 126,
        flags: Flags = [],
        mode: mode_t = 0o600
    ) throws -> LMDBEnvironment {
        let effectiveFlags = flags.rawValue | UInt32(MDB_NOTLS)
        if !flags.contains(.noSubdirectory) && !flags.contains(.readOnly) {
            do {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw LMDBError.cannotOpen(path: path, code: Int32(EIO), message: "cannot create directory: \(error.localizedDescription)")
            }
        }
        var handle: OpaquePointer?
        try check(mdb_env_create(&handle))
        guard let env = handle else { throw LMDBError.other(code: Int32(ENOMEM), message: "mdb_env_create returned no handle") }
        do {
            try check(mdb_env_set_mapsize(env, mapSize))
            try check(mdb_env_set_maxdbs(env, MDB_dbi(clamping: maxDatabases)))
            try check(mdb_env_set_maxreaders(env, UInt32(clamping: maxReaders)))
            let rc = mdb_env_open(env, path, effectiveFlags, mode)
            if rc != 0 {
                throw LMDBError.cannotOpen(path: path, code: rc, message: LMDBError.text(rc))
            }
            // Reader slots of processes that died (kill -9) would otherwise pin old pages forever.
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead))
            return LMDBEnvironment(env: env, path: path, flags: effectiveFlags, staleReadersCleared: Int(dead))
        } catch {
            mdb_env_close(env)   // required after a failed mdb_env_open
            throw error
        }
    }

    // MARK: Databases

    /// Opens a database (`nil` = the unnamed main database). With `create`, a missing named
    /// database is created (needs a writable environment). Open each database once at startup
    /// and keep the handle: opening is serialized and takes a write transaction.
    public func openDatabase(name: String?, create: Bool = true, flags: LMDBDatabase.Flags = []) throws -> LMDBDatabase {
        databaseLock.lock()
        defer { databaseLock.unlock() }
        let readOnly = self.flags & UInt32(MDB_RDONLY) != 0
        let txn = try begin(readOnly: readOnly)
        defer { gate.leave() }
        var dbi: MDB_dbi = 0
        let openFlags = flags.rawValue | (create ? UInt32(MDB_CREATE) : 0)
        let rc = mdb_dbi_open(txn, name, openFlags, &dbi)
        if rc != 0 {
            mdb_txn_abort(txn)
            throw LMDBError(code: rc)
        }
        try check(mdb_txn_commit(txn))
        return LMDBDatabase(handle: dbi, name: name)
    }

    // MARK: Transactions

    /// Runs `body` in a write transaction on the calling thread: commits (with fsync unless the
    /// environment relaxed durability) when it returns, aborts when it throws. Blocks while
    /// another write transaction is active. A `.mapFull` from `put` leaves the transaction
    /// unusable: let it propagate so the transaction aborts.
    @discardableResult
    public func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        let raw = try begin(readOnly: false)
        defer { gate.leave() }
        let txn = LMDBTransaction(raw: raw, readOnly: false)
        let result: T
        do {
            result = try body(txn)
        } catch {
            txn.invalidate()
            mdb_txn_abort(raw)
            throw error
        }
        txn.invalidate()
        try check(mdb_txn_commit(raw))   // frees the transaction even when it fails
        return result
    }

    /// Runs `body` in a read-only snapshot. Readers never block the writer or each other.
    @discardableResult
    public func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        let raw = try begin(readOnly: true)
        defer { gate.leave() }
        let txn = LMDBTransaction(raw: raw, readOnly: true)
        defer {
            txn.invalidate()
            mdb_txn_abort(raw)
        }
        return try body(txn)
    }

    /// Begins a transaction and registers it with the gate; the caller must `gate.leave()`.
    private func begin(readOnly: Bool) throws -> OpaquePointer {
        for attempt in 0..<2 {
            try gate.enter()
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
            if rc == 0, let txn { return txn }
            gate.leave()
            if rc == MDB_MAP_RESIZED && attempt == 0 {
                // Another process grew the map: adopt its size (allowed with no transaction active).
                try gate.exclusively { () throws(LMDBError) in try check(mdb_env_set_mapsize(env, 0)) }
                continue
            }
            throw LMDBError(code: rc == 0 ? Int32(EINVAL) : rc)
        }
        throw LMDBError.mapResized
    }

    // MARK: Maintenance and metrics

    /// Changes the map size. Waits until no transaction of this process is active and holds new
    /// ones back meanwhile. Must not be called from inside a transaction (deadlock).
    public func setMapSize(_ bytes: Int) throws {
        try gate.exclusively { () throws(LMDBError) in try check(mdb_env_set_mapsize(env, bytes)) }
    }

    /// Environment-wide page statistics (of the main B-tree; named databases live under it).
    public func stat() throws -> LMDBStat {
        try gate.enter()
        defer { gate.leave() }
        var result = MDB_stat()
        try check(mdb_env_stat(env, &result))
        return LMDBStat(result)
    }

    /// Map size, last used page, last transaction id and reader slots.
    public func info() throws -> LMDBInfo {
        try gate.enter()
        defer { gate.leave() }
        var result = MDB_envinfo()
        try check(mdb_env_info(env, &result))
        return LMDBInfo(
            mapSize: result.me_mapsize,
            lastPageNumber: result.me_last_pgno,
            lastTransactionID: result.me_last_txnid,
            maxReaders: Int(result.me_maxreaders),
            readerSlotsUsed: Int(result.me_numreaders)
        )
    }

    /// Largest key size accepted by `put` (511 bytes with the default build).
    public var maxKeySize: Int { Int(mdb_env_get_maxkeysize(env)) }

    /// Clears reader slots left by dead processes; returns how many were cleared.
    @discardableResult
    public func readerCheck() throws -> Int {
        try gate.enter()
        defer { gate.leave() }
        var dead: Int32 = 0
        try check(mdb_reader_check(env, &dead))
        return Int(dead)
    }

    /// Flushes buffers to disk; only needed when opened with `noSync`/`mapAsync`.
    public func sync(force: Bool = true) throws {
        try gate.enter()
        defer { gate.leave() }
        try check(mdb_env_sync(env, force ? 1 : 0))
    }

    /// Closes the environment after all active transactions ended. Later calls throw `.closed`.
    /// Closing is optional (deinit does it) but makes a reopen in the same process safe to order.
    public func close() {
        try? gate.exclusively(close: true) { () throws(LMDBError) in mdb_env_close(env) }
    }
}
