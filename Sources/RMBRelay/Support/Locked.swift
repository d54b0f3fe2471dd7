import Foundation

/// A value guarded by a lock; the small building block for shared mutable state that is touched
/// on hot paths (session table, rate limiter, ranker), where an actor hop would cost more.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    @discardableResult
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
