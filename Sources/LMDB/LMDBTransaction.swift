import CLMDB

/// A transaction handed to the `read` / `write` closures of `LMDBEnvironment`. It is valid only
/// inside its closure and on the thread running it (it is deliberately not `Sendable`); any use
/// after the closure returned throws `.closed` instead of touching freed memory.
///
/// Values are copied out into `[UInt8]` because LMDB's pointers die with the transaction; use
/// `withValue` when a copy is too expensive.
public final class LMDBTransaction {
    private var raw: OpaquePointer?
    /// `true` for `read` transactions; writes in them fail with `EACCES`.
    public let isReadOnly: Bool

    init(raw: OpaquePointer, readOnly: Bool) {
        self.raw = raw
        self.isReadOnly = readOnly
    }

    func invalidate() { raw = nil }

    private func handle() throws(LMDBError) -> OpaquePointer {
        guard let raw else { throw .closed }
        return raw
    }

    /// LMDB's transaction id (the snapshot's generation).
    public var id: Int {
        guard let raw else { return 0 }
        return mdb_txn_id(raw)
    }

    // MARK: Single items

    /// The value stored under `key`, copied, or `nil` if absent.
    public func get(_ db: LMDBDatabase, _ key: [UInt8]) throws -> [UInt8]? {
        try withValue(db, key) { buffer in buffer.map { Array($0) } }
    }

    /// Calls `body` with the stored bytes of `key` (or `nil`) without copying. The buffer is only
    /// valid inside `body`.
    public func withValue<R>(_ db: LMDBDatabase, _ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        let txn = try handle()
        var data = MDB_val()
        let rc = withVal(key) { keyVal in mdb_get(txn, db.handle, &keyVal, &data) }
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc)
        return try body(UnsafeRawBufferPointer(data))
    }

    /// Stores `value` under `key`. Throws `.keyExists` with `.noOverwrite` if the key exists,
    /// `.mapFull` when the map is full (the transaction must then be abandoned: rethrow it),
    /// `.badValueSize` for an empty or over-long key.
    public func put(_ db: LMDBDatabase, _ key: [UInt8], _ value: [UInt8], flags: LMDBPutFlags = []) throws {
        let txn = try handle()
        let rc = withVal(key) { keyVal in
            withVal(value) { dataVal in mdb_put(txn, db.handle, &keyVal, &dataVal, flags.rawValue) }
        }
        try check(rc)
    }

    /// Deletes `key` (all its values in a DUPSORT database). Returns `false` if it was absent.
    @discardableResult
    public func delete(_ db: LMDBDatabase, _ key: [UInt8]) throws -> Bool {
        let txn = try handle()
        let rc = withVal(key) { keyVal in mdb_del(txn, db.handle, &keyVal, nil) }
        if rc == MDB_NOTFOUND { return false }
        try check(rc)
        return true
    }

    // MARK: Whole databases

    /// Number of entries in `db`, from the B-tree header (O(1)).
    public func count(_ db: LMDBDatabase) throws -> Int {
        try stat(db).entries
    }

    /// Page statistics of `db` for metrics.
    public func stat(_ db: LMDBDatabase) throws -> LMDBStat {
        let txn = try handle()
        var result = MDB_stat()
        try check(mdb_stat(txn, db.handle, &result))
        return LMDBStat(result)
    }

    /// Removes every entry of `db` (the database itself stays).
    public func removeAll(_ db: LMDBDatabase) throws {
        let txn = try handle()
        try check(mdb_drop(txn, db.handle, 0))
    }

    /// Visits entries in key order, starting at the first key ≥ `from` (or the first key), until
    /// `body` returns `.stop`. Keys and values are copies. Deleting the visited entries is safe
    /// only after the iteration (collect keys, then `delete`): LMDB cursors are not invalidated
    /// by `put`/`delete` through other handles, but positions then shift. Returns entries visited.
    @discardableResult
    public func forEach(
        _ db: LMDBDatabase,
        from start: [UInt8]? = nil,
        _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> LMDBIteration
    ) throws -> Int {
        let txn = try handle()
        var cursorHandle: OpaquePointer?
        try check(mdb_cursor_open(txn, db.handle, &cursorHandle))
        guard let cursor = cursorHandle else { throw LMDBError.closed }
        defer { mdb_cursor_close(cursor) }

        var key = MDB_val()
        var data = MDB_val()
        var rc: Int32
        if let start {
            rc = withVal(start) { startVal in
                key = startVal
                let code = mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE)
                return code
            }
        } else {
            rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST)
        }
        var visited = 0
        while rc == 0 {
            visited += 1
            let keyBytes = Array(UnsafeRawBufferPointer(key))
            let valueBytes = Array(UnsafeRawBufferPointer(data))
            if try body(keyBytes, valueBytes) == .stop { return visited }
            rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try check(rc) }
        return visited
    }
}

@available(*, unavailable, message: "LMDB transactions are bound to their closure and thread")
extension LMDBTransaction: Sendable {}

// MARK: - MDB_val helpers

extension UnsafeRawBufferPointer {
    /// Views LMDB-owned bytes; valid only while the transaction lives.
    init(_ val: MDB_val) {
        if val.mv_size == 0 || val.mv_data == nil {
            self.init(start: nil, count: 0)
        } else {
            self.init(start: val.mv_data, count: val.mv_size)
        }
    }
}

/// Calls `body` with an `MDB_val` pointing at `bytes`. LMDB never writes through input values,
/// so handing it a mutable pointer to the array's storage is safe.
@inline(__always)
func withVal<R>(_ bytes: [UInt8], _ body: (inout MDB_val) -> R) -> R {
    bytes.withUnsafeBytes { buffer in
        var val = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
        return body(&val)
    }
}
