import Foundation

/// Counts active transactions so that operations LMDB only allows while no transaction is active
/// in this process (`mdb_env_set_mapsize`, `mdb_env_close`) can wait for them, and so new
/// transactions wait while such an operation is pending (it is not starved by a stream of readers).
final class TransactionGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var active = 0
    private var exclusive = false
    private(set) var isClosed = false

    /// Registers a transaction; fails if the environment was closed.
    func enter() throws(LMDBError) {
        condition.lock()
        defer { condition.unlock() }
        while exclusive { condition.wait() }
        if isClosed { throw .closed }
        active += 1
    }

    func leave() {
        condition.lock()
        active -= 1
        if active == 0 { condition.broadcast() }
        condition.unlock()
    }

    /// Runs `body` once no transaction is active; blocks new transactions meanwhile.
    /// Calling this from inside a transaction deadlocks (documented on the public API).
    func exclusively<T>(close: Bool = false, _ body: () throws(LMDBError) -> T) throws(LMDBError) -> T {
        condition.lock()
        while exclusive { condition.wait() }
        if isClosed {
            condition.unlock()
            throw .closed
        }
        exclusive = true
        while active > 0 { condition.wait() }
        condition.unlock()
        defer {
            condition.lock()
            exclusive = false
            if close { isClosed = true }
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}
