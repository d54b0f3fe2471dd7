/// ``withDeadline(_:onTimeout:_:)``'s limit passed before its body finished.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "no result within \(limit)" }
}

/// Runs `body` and returns its result; when `limit` passes first, calls `onTimeout` (e.g. to
/// stop what the body waits for), cancels the body, waits for it to end and throws
/// ``DeadlineExceeded``. Cancelling the caller cancels `body` too. For waits on real processes
/// and sockets (tests, benchmarks, start-up), where a wall-clock bound is the point.
public func withDeadline<T: Sendable>(_ limit: Duration, onTimeout: () -> Void = {},
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: DeadlineOutcome<T>.self) { group in
        group.addTask { .finished(try await body()) }
        group.addTask {
            try await Task.sleep(for: limit)
            return .timedOut
        }
        defer { group.cancelAll() }
        guard case .finished(let value)? = try await group.next() else {
            onTimeout()
            throw DeadlineExceeded(limit: limit)
        }
        return value
    }
}

private enum DeadlineOutcome<T: Sendable>: Sendable {
    case finished(T)
    case timedOut
}
