import Synchronization

/// A write queued with ``Store/enqueue(_:deferrable:)``: it holds its place in the writer's queue from the
/// moment `enqueue` returned, and its outcome is awaited later with ``results()``.
///
/// Why: a caller may start work that must come after the write is queued (so that anything it
/// submits later is applied after it), without waiting for the write's fsync first.
public final class PendingCommit: Sendable {
    private typealias Waiter = CheckedContinuation<[StoreOperationResult], any Error>

    private enum State {
        case waiting([Waiter])
        case done(Result<[StoreOperationResult], StoreError>)
    }

    private let state = Mutex(State.waiting([]))

    init() {}

    /// Called once by the writer when the write is durable or failed.
    func complete(_ result: Result<[StoreOperationResult], StoreError>) {
        let waiters: [Waiter] = state.withLock { state in
            guard case let .waiting(waiters) = state else { return [] }
            state = .done(result)
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result.mapError { $0 as any Error }) }
    }

    /// Whether the write has failed already (refused when queued: the store is closing; or
    /// committed on the caller's thread and refused).
    public var hasFailed: Bool {
        state.withLock { state in
            if case .done(.failure) = state { true } else { false }
        }
    }

    /// One result per operation once the write is durable; its error if it failed. Any number
    /// of callers may wait, before or after the write completed.
    public func results() async throws(StoreError) -> [StoreOperationResult] {
        do {
            return try await withCheckedThrowingContinuation { (waiter: Waiter) in
                let finished: Result<[StoreOperationResult], StoreError>? = state.withLock { state in
                    switch state {
                    case .done(let result):
                        return result
                    case .waiting(let waiters):
                        state = .waiting(waiters + [waiter])
                        return nil
                    }
                }
                if let finished { waiter.resume(with: finished.mapError { $0 as any Error }) }
            }
        } catch {
            throw StoreError.converting(error)
        }
    }
}
